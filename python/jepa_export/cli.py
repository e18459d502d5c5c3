"""python -m jepa_export SOURCE INPUT OUTDIR [options]  (what `jepa-native export` runs).

Prints a one-line summary (or, with --json, a JSON object) on stdout; errors go to stderr as one
message, with exit code 1 (cannot export: the message says why), 2 (bad command line).
"""
import argparse
import importlib
import json
import os
import sys
import time

from .errors import EXIT_ERROR, ExportError, UsageError

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "sources.json")) as _f:
    SOURCES = json.load(_f)
MODULES = {"ijepa": "ijepa", "vjepa": "vjepa", "vjepa2": "vjepa2", "hf-vjepa2": "hf", "hf-ijepa": "hf",
           "hjepa": "hjepa", "clip-vision": "clip", "minilm": "minilm", "module": "module"}


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def source_module(name):
    return importlib.import_module(f".sources.{MODULES[name]}", __package__)


def build_parser(source=None):
    p = Parser(prog="jepa-native export",
               description="Turn a checkpoint or a Hugging Face / sentence-transformers folder into a jepa-native "
                           "model folder (TorchScript files and jepa.json).")
    sub = p.add_subparsers(dest="source", metavar="SOURCE", parser_class=Parser)
    for name, entry in SOURCES.items():
        sp = sub.add_parser(name, help=entry["summary"], description=entry["summary"])
        sp.add_argument("input", metavar="INPUT", help=entry["input"])
        sp.add_argument("outdir", metavar="OUTDIR", nargs="?" if name == "module" else None,
                        help="the folder to create (written whole, or not at all)")
        sp.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32",
                        help="dtype of the exported weights (float16 / bfloat16 for inference; default float32)")
        sp.add_argument("--overwrite", action="store_true", help="replace OUTDIR if it exists")
        sp.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip the self-check (the TorchScript module against the eager model on one input)")
        sp.add_argument("--json", action="store_true", help="print the summary as JSON")
        if name == source:  # only the chosen source's module is imported (some need transformers)
            source_module(name).add_arguments(sp)
    return p


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    out = None
    try:
        if argv[:1] == ["--sources-json"]:
            print(json.dumps(SOURCES))
            return 0
        positional = [a for a in argv if not a.startswith("-")]
        source = positional[0] if positional else None
        if source is not None and source not in SOURCES:
            raise UsageError(f"unknown SOURCE {source!r}; the sources are: {', '.join(SOURCES)}")
        parser = build_parser(source)
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # --help
            return int(e.code or 0)
        if args.source is None:
            parser.print_help()
            return 2
        import torch  # noqa: F401  (checked before any work: the error names the pip command)
        from .output import OutputFolder, peak_rss_bytes
        started = time.time()
        module = source_module(args.source)
        if hasattr(module, "normalize_args"):
            module.normalize_args(args)
        out = OutputFolder(args.outdir, args.overwrite)
        info, extra = module.export(args, out)
        out.commit(info)
        out = None
        summary = {"outdir": os.path.abspath(args.outdir), "source": args.source, "kind": info["kind"],
                   "files": info["files"], "dtype": info["dtype"], "seconds": round(time.time() - started, 2),
                   "peakRssBytes": peak_rss_bytes(), **extra, "info": info}
        if args.json:
            print(json.dumps(summary))
        else:
            files = ", ".join(sorted(set(info["files"].values())))
            arch = info.get("architecture", {}).get("name", "")
            print(f"exported {args.source}{' ' + arch if arch else ''} to {args.outdir}: {files}, jepa.json "
                  f"[{info['dtype']}] in {summary['seconds']} s, peak RSS {summary['peakRssBytes'] / 2**30:.2f} GiB")
            for note in extra.get("notes", []):
                print(f"note: {note}")
        return 0
    except ModuleNotFoundError as e:
        if e.name == "torch":
            print(f"jepa-native export: error: it needs PyTorch, which {sys.executable} cannot import: install it "
                  f"with\n  {sys.executable} -m pip install torch", file=sys.stderr)
            return EXIT_ERROR
        raise
    except ExportError as e:
        kind = "usage error" if isinstance(e, UsageError) else "error"
        print(f"jepa-native export: {kind}: {e}", file=sys.stderr)
        return e.exit_code
    finally:
        if out is not None:
            out.abort()
