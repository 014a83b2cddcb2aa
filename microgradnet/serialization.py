"""``mg.save`` / ``mg.load``: checkpoints as a NumPy ``.npz`` plus a JSON manifest.

A checkpoint holds nested dicts, lists and tuples of tensors, arrays, numbers, strings, bools
and ``None`` (dict keys are ``str`` or ``int``): enough for the state dicts of models,
optimizers and schedulers. Every array goes into the archive as ``arr_0``, ``arr_1``, ...; the
structure goes into a JSON manifest stored in the same archive as a ``uint8`` array.

Loading never unpickles anything, so a file from an untrusted source cannot run code: a file
carrying pickled object arrays is refused with a clear error, as is a truncated or corrupt one.
Loading trusts no size the file states: every array's declared shape and dtype must match the
bytes its archive member really holds, the arrays together may not exceed ``max_bytes``
(256 MiB unless raised), each member is decompressed once however often the manifest refers to
it, and a malformed manifest is a ``ValueError`` naming the file and the fault.

Saving is atomic: the file is written under a temporary name and renamed, so a crash never
leaves a half-written checkpoint behind. The file gets the permissions ``np.savez`` would give
it (the umask's, or the old file's), and a symlink is written through to its target.

Tensors come back as tensors that do not require grad (``requires_grad`` is not stored: it
belongs to the model, and ``load_state_dict`` copies values into parameters that keep theirs).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import stat
import zipfile
import zlib
from typing import IO, Any, cast

import numpy as np

from microgradnet.tensor import Tensor

__all__ = ["save", "load"]

_FORMAT = "microgradnet-checkpoint"
_VERSION = 1
_MANIFEST = "__microgradnet_manifest__"
_ARRAY_KINDS = "biufcUS"  # numbers, bools and fixed-width strings; never objects
MAX_DEPTH = 100  # containers nested deeper than this are refused on save and on load
DEFAULT_MAX_BYTES = 256 * 2**20  # total array bytes mg.load accepts unless told otherwise

PathLike = str | os.PathLike[str]


class _Encoder:
    """Turns the object tree into a JSON-able manifest and a list of arrays."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self._open: set[int] = set()  # containers on the current path (to detect cycles)

    def _array(self, a: np.ndarray, where: str) -> int:
        if a.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(
                f"mg.save: cannot store an array of dtype {a.dtype} at {where or 'the top'}: only "
                "numeric, bool and string arrays are stored (never pickled objects)"
            )
        self.arrays.append(a)
        return len(self.arrays) - 1

    def encode(self, obj: Any, where: str = "", depth: int = 0) -> dict[str, Any]:
        if isinstance(obj, Tensor):
            return {"type": "tensor", "index": self._array(obj.data, where)}
        if isinstance(obj, np.ndarray):
            return {"type": "ndarray", "index": self._array(obj, where)}
        if isinstance(obj, np.generic):
            return {"type": "scalar", "index": self._array(np.asarray(obj), where)}
        if obj is None:
            return {"type": "none"}
        if isinstance(obj, bool):
            return {"type": "bool", "value": obj}
        if isinstance(obj, int):
            return {"type": "int", "value": int(obj)}
        if isinstance(obj, float):
            return {"type": "float", "value": repr(float(obj))}  # repr round-trips, nan/inf too
        if isinstance(obj, str):
            return {"type": "str", "value": str(obj)}
        if isinstance(obj, (list, tuple, dict)):
            if id(obj) in self._open:
                raise ValueError(f"mg.save: the object contains itself at {where}")
            if depth >= MAX_DEPTH:
                raise ValueError(f"mg.save: containers nested more than {MAX_DEPTH} levels "
                                 f"deep at {where}; mg.load would refuse the file")
            self._open.add(id(obj))
            try:
                if isinstance(obj, dict):
                    items = []
                    for k, v in obj.items():
                        if isinstance(k, bool) or not isinstance(k, (str, int)):
                            raise TypeError(
                                f"mg.save: dict keys must be str or int, got "
                                f"{type(k).__name__} key {k!r} at {where or 'the top'}"
                            )
                        key = {"type": "str" if isinstance(k, str) else "int", "value": k}
                        items.append([key, self.encode(v, f"{where}[{k!r}]", depth + 1)])
                    return {"type": "dict", "items": items}
                kind = "list" if isinstance(obj, list) else "tuple"
                return {"type": kind,
                        "items": [self.encode(v, f"{where}[{i}]", depth + 1)
                                  for i, v in enumerate(obj)]}
            finally:
                self._open.discard(id(obj))
        raise TypeError(
            f"mg.save: cannot store a {type(obj).__name__} at {where or 'the top'}; checkpoints "
            "hold dicts, lists and tuples of tensors, arrays, numbers, strings, bools and None"
        )


def save(obj: Any, path: PathLike | IO[bytes]) -> None:
    """Write ``obj`` (e.g. ``model.state_dict()``) to ``path`` as an ``.npz`` checkpoint.

    The file gets exactly the name given (no suffix is added) and is replaced atomically, with
    the permissions ``np.savez`` would give it; a symlink is written through to its target.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> mg.save({"w": mg.ones(2), "epoch": 3}, path)
    >>> mg.load(path)
    {'w': tensor([1., 1.]), 'epoch': 3}
    """
    enc = _Encoder()
    manifest = {"format": _FORMAT, "version": _VERSION, "root": enc.encode(obj)}
    payload = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    members: dict[str, np.ndarray] = {f"arr_{i}": a for i, a in enumerate(enc.arrays)}
    members[_MANIFEST] = payload
    if hasattr(path, "write"):
        np.savez(path, **cast("dict[str, Any]", members))
        return
    # Through a symlink to the file it names, as open(path, "wb") would write.
    target = os.path.realpath(os.fspath(path))
    try:  # np.savez truncating an existing file keeps its permissions; so do we
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    fd, tmp = _create_temporary(target)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **cast("dict[str, Any]", members))
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _create_temporary(target: str) -> tuple[int, str]:
    """A new file beside ``target``, created with mode 0o666 so the umask applies (as for open)."""
    directory, base = os.path.split(target)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:  # pragma: no cover - a 32-bit random name collided
            continue


_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError)


class _Archive:
    """The members of an open ``.npz``: each checked against its real size, read at most once."""

    def __init__(self, zf: zipfile.ZipFile, name: str, max_bytes: int) -> None:
        self.zf = zf
        self.name = name
        self.max_bytes = max_bytes
        self.total = 0
        self.cache: dict[str, np.ndarray] = {}

    def bad(self, why: str) -> ValueError:
        return ValueError(f"mg.load: {self.name} is not a valid microgradnet checkpoint: {why}")

    def corrupt(self, key: str, e: BaseException) -> ValueError:
        return ValueError(f"mg.load: {self.name} is truncated or corrupt (member {key!r}: {e})")

    def has(self, key: str) -> bool:
        return f"{key}.npy" in self.zf.NameToInfo

    def read(self, key: str) -> np.ndarray:
        if key in self.cache:
            return self.cache[key]
        info = self.zf.getinfo(f"{key}.npy")
        try:
            with self.zf.open(info) as fp:
                version = np.lib.format.read_magic(fp)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
                else:
                    raise self.bad(f"member {key!r} has unsupported .npy version {version}")
                offset = fp.tell()
        except ValueError as e:
            if "pickle" in str(e).lower() or "object" in str(e).lower():
                raise self.pickled(key) from None
            if str(e).startswith("mg.load"):
                raise
            raise self.corrupt(key, e) from None
        except _CORRUPT as e:
            raise self.corrupt(key, e) from None
        if dtype.hasobject:
            raise self.pickled(key)
        if dtype.kind not in _ARRAY_KINDS:
            raise self.bad(f"member {key!r} has dtype {dtype}, which checkpoints never hold")
        nbytes = math.prod(shape) * dtype.itemsize
        held = info.file_size - offset
        if nbytes != held:
            raise self.bad(f"member {key!r} declares shape {shape} of {dtype} ({nbytes} bytes) "
                           f"but holds {held} bytes")
        if self.total + nbytes > self.max_bytes:
            raise ValueError(
                f"mg.load: {self.name} holds more than max_bytes={self.max_bytes} bytes of "
                f"arrays (member {key!r} of {nbytes} bytes brings the total to "
                f"{self.total + nbytes}); if you trust the file, raise the limit with "
                "mg.load(..., max_bytes=...)")
        self.total += nbytes
        try:
            with self.zf.open(info) as fp:
                arr = np.lib.format.read_array(fp, allow_pickle=False)
        except (ValueError, *_CORRUPT) as e:
            raise self.corrupt(key, e) from None
        self.cache[key] = arr
        return arr

    def pickled(self, key: str) -> ValueError:
        return ValueError(
            f"mg.load: {self.name} contains a pickled object array ({key!r}); refusing to "
            "unpickle it, since unpickling a file can run arbitrary code. Only load "
            "checkpoints written by mg.save.")


class _Decoder:
    """Rebuilds the object tree from the manifest, checking every entry's form."""

    def __init__(self, archive: _Archive) -> None:
        self.archive = archive

    def _array(self, node: dict[str, Any]) -> np.ndarray:
        index = node.get("index")
        if type(index) is not int or not 0 <= index < 2**31:
            raise self.archive.bad(f"array index {index!r:.40} is not a small non-negative int")
        key = f"arr_{index}"
        if not self.archive.has(key):
            raise self.archive.bad(f"the manifest refers to a missing array {key!r}")
        return self.archive.read(key)

    def _value(self, node: dict[str, Any], kind: str, types: tuple[type, ...]) -> Any:
        value = node.get("value")
        if type(value) not in types:
            raise self.archive.bad(f"a {kind} entry holds {type(value).__name__} "
                                   f"{value!r:.40}")
        return value

    def _items(self, node: dict[str, Any], kind: str) -> list[Any]:
        items = node.get("items")
        if type(items) is not list:
            raise self.archive.bad(f"a {kind} entry has no list of items")
        return items

    def decode(self, node: Any, depth: int = 0) -> Any:
        bad = self.archive.bad
        if type(node) is not dict or "type" not in node:
            raise bad(f"malformed manifest entry {node!r:.80}")
        if depth > MAX_DEPTH:
            raise bad(f"containers nested more than {MAX_DEPTH} levels deep")
        kind = node["type"]
        if kind == "tensor":
            return Tensor._make(self._array(node), False, None)
        if kind == "ndarray":
            return self._array(node)
        if kind == "scalar":
            arr = self._array(node)
            if arr.ndim != 0:
                raise bad(f"a scalar entry refers to an array of shape {arr.shape}")
            return arr[()]
        if kind == "none":
            return None
        if kind == "bool":
            return self._value(node, kind, (bool,))
        if kind == "int":
            return self._value(node, kind, (int,))
        if kind == "float":
            text = self._value(node, kind, (str,))
            try:
                return float(text)
            except ValueError:
                raise bad(f"a float entry holds {text!r:.40}") from None
        if kind == "str":
            return self._value(node, kind, (str,))
        if kind == "list":
            return [self.decode(v, depth + 1) for v in self._items(node, kind)]
        if kind == "tuple":
            return tuple(self.decode(v, depth + 1) for v in self._items(node, kind))
        if kind == "dict":
            out = {}
            for item in self._items(node, kind):
                if type(item) is not list or len(item) != 2:
                    raise bad(f"a dict item is not a [key, value] pair: {item!r:.80}")
                key, value = item
                if type(key) is not dict or key.get("type") not in ("str", "int"):
                    raise bad(f"a dict key is not a str or int entry: {key!r:.80}")
                out[self.decode(key, depth + 1)] = self.decode(value, depth + 1)
            return out
        raise bad(f"unknown entry type {kind!r:.40}")


def load(path: PathLike | IO[bytes], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Read a checkpoint written by ``mg.save``; arrays never go through pickle.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file for a
    truncated, corrupt, malformed or foreign one, one that carries pickled objects, or one whose
    arrays total more than ``max_bytes`` (256 MiB by default; raise it for a bigger file you
    trust). Sizes are checked against the archive before anything is allocated.

    >>> import io
    >>> buf = io.BytesIO()
    >>> mg.save({"w": mg.tensor([1.0, 2.0])}, buf)
    >>> _ = buf.seek(0)
    >>> mg.load(buf)
    {'w': tensor([1., 2.])}
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise TypeError(f"mg.load: max_bytes must be an int, got {type(max_bytes).__name__}")
    if hasattr(path, "read"):
        return _load_file(path, "the file object", max_bytes)  # type: ignore[arg-type]
    name = repr(os.fspath(path))
    with open(path, "rb") as f:
        return _load_file(f, name, max_bytes)


def _load_file(f: IO[bytes], name: str, max_bytes: int) -> Any:
    start = f.tell()
    magic = f.read(6)
    f.seek(start)
    if magic == b"\x93NUMPY":
        try:
            np.lib.format.read_magic(f)
            dtype = np.lib.format.read_array_header_1_0(f)[2]
            pickled = dtype.hasobject
        except ValueError:
            pickled = False
        if pickled:
            raise ValueError(f"mg.load: {name} holds a pickled object, which is never "
                             "unpickled; only checkpoints written by mg.save can be loaded")
        raise ValueError(f"mg.load: {name} is a single .npy array, not a microgradnet "
                         "checkpoint (.npz with a manifest)")
    if not magic.startswith(b"PK"):
        raise ValueError(f"mg.load: {name} is not a microgradnet checkpoint (not an .npz "
                         "archive)")
    try:
        zf = zipfile.ZipFile(f)
    except (ValueError, *_CORRUPT) as e:
        raise ValueError(f"mg.load: {name} is truncated or corrupt ({e})") from None
    with zf:
        archive = _Archive(zf, name, max_bytes)
        if not archive.has(_MANIFEST):
            raise ValueError(f"mg.load: {name} has no microgradnet manifest; it is a plain "
                             ".npz archive (read it with numpy.load)")
        raw = archive.read(_MANIFEST)
        try:
            manifest = json.loads(raw.tobytes().decode("utf-8"))
        except RecursionError:
            raise ValueError(f"mg.load: {name} has a corrupt manifest (nested too deeply)"
                             ) from None
        except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError, ints of 4300+ digits
            raise ValueError(f"mg.load: {name} has a corrupt manifest ({e})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
            raise ValueError(f"mg.load: {name} has a manifest of an unknown format")
        if manifest.get("version") != _VERSION:
            raise ValueError(f"mg.load: {name} was written by format version "
                             f"{manifest.get('version')!r:.40}; this microgradnet reads version "
                             f"{_VERSION}")
        return _Decoder(archive).decode(manifest.get("root"))
