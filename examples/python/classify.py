"""Classifies a text file with a rubric server and prints the topics with their evidence.

    python3 examples/python/classify.py FILE [--addr HOST:PORT] [--offsets utf16|codepoint]

FILE is plain text; its first line is the title when a blank line follows it, as with
`rubric classify`. The server returns span offsets in the unit asked for (--offsets): UTF-16
code units (as Java and JavaScript index strings) or code points (as Python does). This client
slices the original title or body itself with those offsets and checks that the slice equals the
span's `text` returned by the server; any mismatch is reported and the exit status is 1.

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


def slice_text(text, start, end, offsets):
    """The part of `text` between two offsets in the given unit."""
    if offsets == "codepoint":
        return text[start:end]
    # UTF-16 code units: a character outside the BMP (an emoji) counts two.
    units = text.encode("utf-16-le")
    return units[2 * start : 2 * end].decode("utf-16-le")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a plain-text article")
    parser.add_argument("--addr", default="127.0.0.1:50051", help="server (default: %(default)s)")
    parser.add_argument("--offsets", choices=["utf16", "codepoint"], default="codepoint")
    parser.add_argument("--timeout", type=float, default=10.0, help="deadline in seconds")
    parser.add_argument("--stubs", default=DEFAULT_OUT, help="where the generated stubs go")
    args = parser.parse_args()

    ensure_stubs(args.stubs)
    from rubric.v1 import classifier_service_pb2 as pb
    from rubric.v1 import classifier_service_pb2_grpc as pb_grpc

    with open(args.file, encoding="utf-8") as f:
        title, body = split_article(f.read())
    encoding = {
        "utf16": pb.OFFSET_ENCODING_UTF16,
        "codepoint": pb.OFFSET_ENCODING_CODE_POINT,
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
            print(f"error: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1

    c = response.classification
    unit = {"utf16": "UTF-16 code units", "codepoint": "code points"}[args.offsets]
    print(f"article {c.article_id}: rule set {c.rule_set_version}, offsets in {unit}")
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
    sys.exit(main())
