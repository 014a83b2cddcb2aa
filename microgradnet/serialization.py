"""``mg.save`` / ``mg.load``: checkpoints as a NumPy ``.npz`` plus a JSON manifest.

A checkpoint holds nested dicts, lists and tuples of tensors, arrays, numbers, strings, bools
and ``None`` (dict keys are ``str`` or ``int``): enough for the state dicts of models,
optimizers and schedulers. Every array goes into the archive as ``arr_0``, ``arr_1``, ...; the
structure goes into a JSON manifest stored in the same archive as a ``uint8`` array.

Loading never unpickles anything (``np.load(allow_pickle=False)``), so a file from an untrusted
source cannot run code: a file carrying pickled object arrays is refused with a clear error, as
is a truncated or corrupt one. Saving is atomic: the file is written under a temporary name and
renamed, so a crash never leaves a half-written checkpoint behind.

Tensors come back as tensors that do not require grad (``requires_grad`` is not stored: it
belongs to the model, and ``load_state_dict`` copies values into parameters that keep theirs).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import IO, Any

import numpy as np

from microgradnet.tensor import Tensor

__all__ = ["save", "load"]

_FORMAT = "microgradnet-checkpoint"
_VERSION = 1
_MANIFEST = "__microgradnet_manifest__"
_ARRAY_KINDS = "biufcUS"  # numbers, bools and fixed-width strings; never objects

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

    def encode(self, obj: Any, where: str = "") -> dict[str, Any]:
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
                        items.append([key, self.encode(v, f"{where}[{k!r}]")])
                    return {"type": "dict", "items": items}
                kind = "list" if isinstance(obj, list) else "tuple"
                return {"type": kind,
                        "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
            finally:
                self._open.discard(id(obj))
        raise TypeError(
            f"mg.save: cannot store a {type(obj).__name__} at {where or 'the top'}; checkpoints "
            "hold dicts, lists and tuples of tensors, arrays, numbers, strings, bools and None"
        )


def save(obj: Any, path: PathLike | IO[bytes]) -> None:
    """Write ``obj`` (e.g. ``model.state_dict()``) to ``path`` as an ``.npz`` checkpoint.

    The file gets exactly the name given (no suffix is added) and is replaced atomically.

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
        np.savez(path, **members)
        return
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **members)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class _Decoder:
    def __init__(self, npz: Any, name: str) -> None:
        self.npz = npz
        self.name = name

    def _bad(self, why: str) -> ValueError:
        return ValueError(f"mg.load: {self.name} is not a valid microgradnet checkpoint: {why}")

    def _array(self, node: dict[str, Any]) -> np.ndarray:
        key = f"arr_{node.get('index')}"
        if key not in self.npz.files:
            raise self._bad(f"the manifest refers to a missing array {key!r}")
        return _read_member(self.npz, key, self.name)

    def decode(self, node: Any) -> Any:
        if not isinstance(node, dict) or "type" not in node:
            raise self._bad(f"malformed manifest entry {node!r:.80}")
        kind = node["type"]
        try:
            if kind == "tensor":
                return Tensor._make(self._array(node), False, None)
            if kind == "ndarray":
                return self._array(node)
            if kind == "scalar":
                return self._array(node)[()]
            if kind == "none":
                return None
            if kind == "bool":
                return bool(node["value"])
            if kind == "int":
                return int(node["value"])
            if kind == "float":
                return float(node["value"])
            if kind == "str":
                return str(node["value"])
            if kind == "list":
                return [self.decode(v) for v in node["items"]]
            if kind == "tuple":
                return tuple(self.decode(v) for v in node["items"])
            if kind == "dict":
                return {self.decode(k): self.decode(v) for k, v in node["items"]}
        except (KeyError, TypeError) as e:
            raise self._bad(f"malformed {kind} entry ({e})") from None
        raise self._bad(f"unknown entry type {kind!r}")


def _read_member(npz: Any, key: str, name: str) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as e:
        if "pickle" in str(e).lower() or "object arrays" in str(e).lower():
            raise ValueError(
                f"mg.load: {name} contains a pickled object array ({key!r}); refusing to "
                "unpickle it, since unpickling a file can run arbitrary code. Only load "
                "checkpoints written by mg.save."
            ) from None
        raise ValueError(f"mg.load: {name} is truncated or corrupt (member {key!r}: {e})"
                         ) from None
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError) as e:
        raise ValueError(f"mg.load: {name} is truncated or corrupt (member {key!r}: {e})"
                         ) from None


def load(path: PathLike | IO[bytes]) -> Any:
    """Read a checkpoint written by ``mg.save``; arrays never go through pickle.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file for a
    truncated, corrupt or foreign one, or one that carries pickled objects.

    >>> import io
    >>> buf = io.BytesIO()
    >>> mg.save({"w": mg.tensor([1.0, 2.0])}, buf)
    >>> _ = buf.seek(0)
    >>> mg.load(buf)
    {'w': tensor([1., 2.])}
    """
    name = repr(os.fspath(path)) if not hasattr(path, "read") else "the file object"
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise ValueError(f"mg.load: {name} holds a pickled object, which is never "
                             "unpickled; only checkpoints written by mg.save can be loaded"
                             ) from None
        raise ValueError(f"mg.load: {name} is not a microgradnet checkpoint ({e})") from None
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(f"mg.load: {name} is truncated or corrupt ({e})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"mg.load: {name} is a single .npy array, not a microgradnet "
                         "checkpoint (.npz with a manifest)")
    with npz:
        if _MANIFEST not in npz.files:
            raise ValueError(f"mg.load: {name} has no microgradnet manifest; it is a plain "
                             ".npz archive (read it with numpy.load)")
        raw = _read_member(npz, _MANIFEST, name)
        try:
            manifest = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"mg.load: {name} has a corrupt manifest ({e})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
            raise ValueError(f"mg.load: {name} has a manifest of an unknown format")
        if manifest.get("version") != _VERSION:
            raise ValueError(f"mg.load: {name} was written by format version "
                             f"{manifest.get('version')!r}; this microgradnet reads version "
                             f"{_VERSION}")
        return _Decoder(npz, name).decode(manifest.get("root"))
