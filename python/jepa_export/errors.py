"""The errors of `jepa-native export`: each becomes one message on stderr and an exit code."""

# Exit codes (lib/cli/export.ts passes them on; docs/cli.md lists them).
EXIT_ERROR = 1       # the input cannot be exported (bad checkpoint, key report, refused file, a missing
                     # Python package: the message holds its pip command, ...)
EXIT_USAGE = 2       # bad command line (argparse's own code)


class ExportError(Exception):
    """An input that cannot be exported; the message says what was wrong and what was expected."""

    exit_code = EXIT_ERROR


class UsageError(ExportError):
    exit_code = EXIT_USAGE


class MissingPackage(ExportError):
    def __init__(self, package: str, why: str):
        import sys
        self.package = package
        super().__init__(f"{why} needs the Python package `{package}`, which {sys.executable} cannot import: "
                         f"install it with\n  {sys.executable} -m pip install {package}")


def require(module: str, package: str, why: str):
    """Imports `module`, or raises MissingPackage naming the pip command."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if getattr(e, "name", None) not in (None, module) and not module.startswith(str(e.name)):
            raise
        raise MissingPackage(package, why) from None
