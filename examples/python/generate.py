"""Generates the Python stubs of rubric's gRPC contract (proto/rubric/v1) with grpcio-tools.

    python3 examples/python/generate.py [--out DIR]

The stubs go to DIR (default: examples/python/build, not committed) as the modules
rubric.v1.classifier_service_pb2 and rubric.v1.classifier_service_pb2_grpc. google/rpc/status.proto,
which the contract imports, comes from googleapis-common-protos (google.rpc.status_pb2); the copy
vendored under proto/google only serves as an import path here. classify.py calls ensure_stubs(),
which regenerates when the .proto is newer than the stubs.

The same from a shell, in the repository's root, into an existing directory gen (the README's line;
`python3 -m grpc_tools.protoc` adds the well-known types' include path itself, which generate()
passes explicitly):

    python3 -m grpc_tools.protoc -Iproto --python_out=gen --pyi_out=gen --grpc_python_out=gen proto/rubric/v1/classifier_service.proto
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "proto"))
PROTO = "rubric/v1/classifier_service.proto"
DEFAULT_OUT = os.path.join(HERE, "build")


def generate(out):
    """Runs protoc (bundled with grpcio-tools) into `out`; raises RuntimeError on failure."""
    import grpc_tools
    from grpc_tools import protoc

    os.makedirs(out, exist_ok=True)
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        os.path.join(PROTO_ROOT, PROTO),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {PROTO}")


def ensure_stubs(out=DEFAULT_OUT):
    """Generates the stubs into `out` unless they are newer than the .proto; puts `out` on sys.path."""
    source = os.path.join(PROTO_ROOT, PROTO)
    stub = os.path.join(out, "rubric", "v1", "classifier_service_pb2.py")
    if not os.path.exists(stub) or os.path.getmtime(stub) < os.path.getmtime(source):
        generate(out)
    if out not in sys.path:
        sys.path.insert(0, out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = parser.parse_args()
    generate(args.out)
    print(f"stubs written to {args.out}")


if __name__ == "__main__":
    main()
