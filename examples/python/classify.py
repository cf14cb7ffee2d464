"""Classifies a text file with a rubric server and prints the topics with their evidence.

    python3 examples/python/classify.py FILE [--addr HOST:PORT] [--offsets utf8|utf16|code-point]

FILE is plain text; its first line is the title when a blank line follows it, as with
`rubric classify`. The server returns span offsets in the unit asked for (--offsets, also spelt
--offset-encoding, with the values of `rubric classify --offset-encoding`): UTF-8 bytes (as Rust,
Go and C index strings), UTF-16 code units (Java, JavaScript, C#) or code points (Python; the
default; `codepoint` is accepted too). This client slices the original title or body itself with
those offsets and checks that the slice equals the span's `text` returned by the server; any
mismatch is reported and the exit status is 1.

Exit status: 0; 1 when the call fails (the status, and for INVALID_ARGUMENT each offending field
from the google.rpc.BadRequest detail, decoded with grpcio-status) or a slice does not match; 2
on a usage error, such as a FILE that cannot be read.

The stubs are generated from proto/ at first run (generate.py, grpcio-tools) into --stubs.
"""

import argparse
import os
import sys

import grpc

from generate import DEFAULT_OUT, ensure_stubs


def split_article(text):
    """(title, body): the first line is the title when a blank line follows it."""
    text = text.removeprefix("\ufeff")
    first, sep, rest = text.partition("\n")
    if sep:
        blank, sep2, body = rest.removeprefix("\r").partition("\n")
        if sep2 and not blank.strip() and first.strip():
            return first.removesuffix("\r"), body
    return "", text


# The units of `rubric classify --offset-encoding`, and what each is called in the output.
UNITS = {
    "utf8": "UTF-8 bytes",
    "utf16": "UTF-16 code units",
    "code-point": "code points",
}
# Other spellings: this example's first one, and the usual ones.
ALIASES = {"codepoint": "code-point", "utf-8": "utf8", "utf-16": "utf16"}


def offsets_unit(value):
    """An --offsets value in the CLI's spelling; raises ArgumentTypeError for an unknown one."""
    unit = ALIASES.get(value.lower(), value.lower())
    if unit not in UNITS:
        raise argparse.ArgumentTypeError(
            f"unknown unit {value!r}: use one of {', '.join(UNITS)} (as `rubric classify`)"
        )
    return unit


def slice_text(text, start, end, offsets):
    """The part of `text` between two offsets in the given unit."""
    if offsets == "code-point":
        return text[start:end]
    if offsets == "utf8":
        return text.encode("utf-8")[start:end].decode("utf-8")
    # UTF-16 code units: a character outside the BMP (an emoji) counts two.
    units = text.encode("utf-16-le")
    return units[2 * start : 2 * end].decode("utf-16-le")


def describe_error(e):
    """`CODE: message`, then one line per field violation of a google.rpc.BadRequest detail."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    lines = [f"error: {e.code().name}: {e.details()}"]
    status = rpc_status.from_call(e)
    for detail in status.details if status is not None else []:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            for violation in bad_request.field_violations:
                line = f"{violation.field}: {violation.description}"
                if line != e.details():  # one violation is often the message itself
                    lines.append(f"  {line}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a plain-text article")
    parser.add_argument("--addr", default="127.0.0.1:50051", help="server (default: %(default)s)")
    parser.add_argument(
        "--offsets",
        "--offset-encoding",
        dest="offsets",
        type=offsets_unit,
        default="code-point",
        metavar="{utf8,utf16,code-point}",
        help="unit of the span offsets (default: %(default)s, which Python strings index by)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="deadline in seconds")
    parser.add_argument("--stubs", default=DEFAULT_OUT, help="where the generated stubs go")
    args = parser.parse_args()

    # A file that cannot be read is a usage error: one line, no traceback.
    try:
        with open(args.file, encoding="utf-8") as f:
            title, body = split_article(f.read())
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        print(f"error: cannot read {args.file}: {reason}", file=sys.stderr)
        return 2

    ensure_stubs(args.stubs)
    from rubric.v1 import classifier_service_pb2 as pb
    from rubric.v1 import classifier_service_pb2_grpc as pb_grpc

    encoding = {
        "utf8": pb.OFFSET_ENCODING_UTF8,
        "utf16": pb.OFFSET_ENCODING_UTF16,
        "code-point": pb.OFFSET_ENCODING_CODE_POINT,
    }[args.offsets]
    request = pb.ClassifyRequest(
        article=pb.Article(id=os.path.basename(args.file), title=title, body=body),
        options=pb.ClassifyOptions(offset_encoding=encoding),
    )
    with grpc.insecure_channel(args.addr) as channel:
        stub = pb_grpc.ClassifierServiceStub(channel)
        try:
            response = stub.Classify(request, timeout=args.timeout)
        except grpc.RpcError as e:
            print(describe_error(e), file=sys.stderr)
            return 1

    c = response.classification
    print(f"article {c.article_id}: rule set {c.rule_set_version}, offsets in {UNITS[args.offsets]}")
    fields = {pb.ARTICLE_FIELD_TITLE: ("title", title), pb.ARTICLE_FIELD_BODY: ("body", body)}
    checked, mismatches = 0, 0
    for topic in c.topics:
        mark = "LABEL" if topic.label else "-"
        print(f"{topic.topic}\tscore {topic.score:g}\tconfidence {topic.confidence:.3f}\t{mark}")
        for evidence in topic.evidence:
            print(f"  {evidence.rule_id} (weight {evidence.weight:g})")
            for span in evidence.spans:
                name, text = fields[span.field]
                sliced = slice_text(text, span.start, span.end, args.offsets)
                checked += 1
                if sliced != span.text:
                    mismatches += 1
                    print(f"    MISMATCH {name}[{span.start}:{span.end}] sliced {sliced!r}, server {span.text!r}")
                else:
                    print(f"    {name}[{span.start}:{span.end}] {sliced!r}")
    if mismatches:
        print(f"{mismatches} of {checked} spans do not match the server's text", file=sys.stderr)
        return 1
    print(f"{checked} spans checked: each slice of the original text equals the server's text")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as a filter does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
