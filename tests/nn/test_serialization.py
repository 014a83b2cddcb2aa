"""mg.save / mg.load: round trips, atomic writes, and refusing pickled or damaged files."""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import microgradnet as mg


def test_round_trip_of_a_nested_state(tmp_path: Path) -> None:
    state = {
        "model": {"w": mg.tensor([[1.0, 2.0]]), "b": mg.zeros(1, dtype=mg.float64),
                  "steps": mg.tensor([1, 2], dtype=mg.int32), "mask": mg.tensor([True])},
        "optimizer": {"state": {0: {"momentum_buffer": np.arange(3.0)}, 1: {}},
                      "param_groups": [{"lr": 0.1, "momentum": 0.9, "nesterov": False,
                                        "params": [0, 1], "name": None}]},
        "scheduler": {"last_epoch": 7, "gamma": math.inf, "nan": math.nan,
                      "milestones": (2, 5), "big": 2**70},
        "np_scalar": np.float32(1.5),
        "text": "héllo",
    }
    path = tmp_path / "ckpt.npz"
    mg.save(state, path)
    back = mg.load(str(path))
    model = back["model"]
    assert all(isinstance(v, mg.Tensor) and not v.requires_grad for v in model.values())
    assert model["w"].dtype == np.float32 and model["b"].dtype == np.float64
    assert model["steps"].dtype == np.int32 and model["mask"].dtype == np.bool_
    np.testing.assert_array_equal(model["w"].data, [[1.0, 2.0]])
    opt = back["optimizer"]
    assert list(opt["state"]) == [0, 1]  # int keys stay ints, order kept
    assert isinstance(opt["state"][0]["momentum_buffer"], np.ndarray)
    assert opt["param_groups"] == state["optimizer"]["param_groups"]
    sched = back["scheduler"]
    assert sched["milestones"] == (2, 5) and sched["big"] == 2**70
    assert sched["gamma"] == math.inf and math.isnan(sched["nan"])
    assert type(back["np_scalar"]) is np.float32 and back["np_scalar"] == 1.5
    assert back["text"] == "héllo"
    assert mg.load(path)["scheduler"]["last_epoch"] == 7  # pathlib.Path works too


@settings(max_examples=20, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int64,
                                   np.uint8, np.bool_, np.complex128]),
                  hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)))
def test_arrays_round_trip_exactly(tmp_path_factory, arr: np.ndarray) -> None:
    path = tmp_path_factory.mktemp("rt") / "a.npz"
    mg.save({"t": mg.from_numpy(arr), "a": arr}, path)
    back = mg.load(path)
    for v in (back["t"].data, back["a"]):
        assert v.dtype == arr.dtype and v.shape == arr.shape
        np.testing.assert_array_equal(v, arr)


def test_model_state_dict_round_trip(tmp_path: Path) -> None:
    a = mg.nn.MLP([3, 4, 2], activation="tanh")
    b = mg.nn.MLP([3, 4, 2], activation="tanh")
    mg.save(a.state_dict(), tmp_path / "m.npz")
    b.load_state_dict(mg.load(tmp_path / "m.npz"))
    x = mg.randn(5, 3)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    # a parameter is saved as a plain tensor
    mg.save({"p": a.layers[0].weight}, tmp_path / "p.npz")
    assert type(mg.load(tmp_path / "p.npz")["p"]) is mg.Tensor


def test_unsupported_values_are_refused_before_writing(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match=r"cannot store a set at \['a'\]\[1\]"):
        mg.save({"a": [1, {2}]}, path)
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        mg.save({(1, 2): 3}, path)
    with pytest.raises(TypeError, match="dtype object"):
        mg.save({"a": np.array([None, 1], dtype=object)}, path)
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        mg.save(loop, path)
    assert list(tmp_path.iterdir()) == []  # no file, no temporary left behind


def test_save_is_atomic(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "ckpt.npz"
    mg.save({"v": 1}, path)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        mg.save({"v": 2}, path)
    monkeypatch.undo()
    assert mg.load(path) == {"v": 1}  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]  # no temporary file
    mg.save({"v": 3}, str(tmp_path / "noext"))  # the exact name, no suffix added
    assert mg.load(tmp_path / "noext") == {"v": 3}


def test_pickled_object_arrays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    good = tmp_path / "good.npz"
    mg.save({"w": mg.ones(2)}, good)
    with np.load(good) as npz:
        members = {k: npz[k] for k in npz.files}
    members["arr_0"] = np.array([{"payload": "would run on unpickling"}], dtype=object)
    np.savez(path, allow_pickle=True, **members)
    with pytest.raises(ValueError, match=r"evil\.npz.*pickled object array.*refusing"):
        mg.load(path)
    # a pickled .npy file is refused too
    npy = tmp_path / "evil.npy"
    np.save(npy, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"evil\.npy.*never unpickled"):
        mg.load(npy)


def test_truncated_and_corrupt_files_give_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.npz"
    mg.save({"w": mg.ones(1000), "b": mg.zeros(3)}, path)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated\.npz.*truncated or corrupt"):
        mg.load(truncated)
    corrupt = tmp_path / "corrupt.npz"
    flipped = bytearray(data)
    start = data.index(b"\x93NUMPY") + 200  # inside the first array's data
    flipped[start:start + 16] = b"\xff" * 16
    corrupt.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"corrupt\.npz.*truncated or corrupt"):
        mg.load(corrupt)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ValueError, match="garbage.npz"):
        mg.load(garbage)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.ones(2))
    with pytest.raises(ValueError, match="no microgradnet manifest"):
        mg.load(plain)
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "missing.npz")


def test_bad_manifests_are_reported(tmp_path: Path) -> None:
    def with_manifest(text: str) -> Path:
        p = tmp_path / f"m{abs(hash(text))}.npz"
        np.savez(p, __microgradnet_manifest__=np.frombuffer(text.encode(), np.uint8))
        return p

    with pytest.raises(ValueError, match="corrupt manifest"):
        mg.load(with_manifest("{not json"))
    with pytest.raises(ValueError, match="unknown format"):
        mg.load(with_manifest('{"format": "other"}'))
    with pytest.raises(ValueError, match="version 99"):
        mg.load(with_manifest('{"format": "microgradnet-checkpoint", "version": 99}'))
    with pytest.raises(ValueError, match="missing array 'arr_3'"):
        mg.load(with_manifest('{"format": "microgradnet-checkpoint", "version": 1, '
                              '"root": {"type": "tensor", "index": 3}}'))
    with pytest.raises(ValueError, match="unknown entry type 'pickle'"):
        mg.load(with_manifest('{"format": "microgradnet-checkpoint", "version": 1, '
                              '"root": {"type": "pickle"}}'))


def test_file_objects(tmp_path: Path) -> None:
    path = tmp_path / "f.npz"
    with open(path, "wb") as f:
        mg.save([1, mg.ones(2)], f)
    with open(path, "rb") as f:
        back = mg.load(f)
    assert back[0] == 1 and back[1].tolist() == [1.0, 1.0]
    assert zipfile.is_zipfile(path) and os.path.getsize(path) > 0


# --- hostile files (issue 12): limits before allocating, one read per member, clear errors ---

def _npy_bytes(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _manifest(root: object | str) -> bytes:
    import json

    text = root if isinstance(root, str) else json.dumps(root)
    text = '{"format": "microgradnet-checkpoint", "version": 1, "root": ' + text + "}"
    return _npy_bytes(np.frombuffer(text.encode(), np.uint8))


def _archive(path: Path, root: object | str, members: dict[str, bytes] | None = None,
             compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("__microgradnet_manifest__.npy", _manifest(root))
        for name, data in (members or {}).items():
            zf.writestr(f"{name}.npy", data)
    return path


def _peak_mib(fn) -> tuple[object, float]:
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            out: object = fn()
        except Exception as e:  # the caller checks what was raised
            out = e
        return out, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_one_compressed_array_referenced_200_times_is_read_once(tmp_path: Path) -> None:
    big = _npy_bytes(np.zeros(2**17))  # 1 MiB of zeros, a few KB once deflated
    root = {"type": "list", "items": [{"type": "tensor", "index": 0}] * 200}
    path = _archive(tmp_path / "bomb.npz", root,
                    {"arr_0": big}, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 10_000
    out, peak = _peak_mib(lambda: mg.load(path))
    assert isinstance(out, list) and len(out) == 200, out
    assert peak < 20, f"{peak:.0f} MiB for a 1 MiB array"  # was 200 MiB: one copy per reference
    assert all(np.shares_memory(t.data, out[0].data) for t in out)


def test_declared_size_must_match_the_member_before_anything_is_allocated(tmp_path: Path) -> None:
    header = _npy_bytes(np.zeros(2**27))[:128]  # the header of a 1 GiB float64 array ...
    path = _archive(tmp_path / "liar.npz", {"type": "tensor", "index": 0},
                    {"arr_0": header + bytes(2**20)})  # ... followed by 1 MiB of data
    assert path.stat().st_size < 2**21
    err, peak = _peak_mib(lambda: mg.load(path))
    assert isinstance(err, ValueError), err
    assert "liar.npz" in str(err) and "declares shape (134217728,)" in str(err)
    assert peak < 50, f"{peak:.0f} MiB allocated for a 1 MiB file"


def test_total_size_cap_with_a_keyword_to_raise_it(tmp_path: Path) -> None:
    header = _npy_bytes(np.zeros(2**27))[:128]
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as zf:  # the directory says 1 GiB, consistently
        zf.writestr("__microgradnet_manifest__.npy", _manifest({"type": "tensor", "index": 0}))
        zf.writestr("arr_0.npy", header + bytes(1024))
        zf.getinfo("arr_0.npy").file_size = 128 + 2**30
    err, peak = _peak_mib(lambda: mg.load(path))
    assert isinstance(err, ValueError) and "max_bytes=268435456" in str(err), err
    assert "huge.npz" in str(err) and peak < 50
    small = tmp_path / "small.npz"
    mg.save({"w": mg.zeros(1000)}, small)  # 8000 bytes of arrays
    with pytest.raises(ValueError, match=r"max_bytes=4000 .*mg\.load\(\.\.\., max_bytes="):
        mg.load(small, max_bytes=4000)
    assert mg.load(small, max_bytes=10_000)["w"].shape == (1000,)
    with pytest.raises(TypeError, match="max_bytes must be an int"):
        mg.load(small, max_bytes=1e9)


@pytest.mark.parametrize("root, why", [
    ('{"type": "list", "items": [' * 5000 + "]}" * 5000, "corrupt manifest"),  # json's limit
    ('{"type": "list", "items": [' * 150 + "]}" * 150, "nested more than 100 levels"),
    ({"type": "dict", "items": [[{"type": "str", "value": "a"}]]}, "not a .key, value. pair"),
    ({"type": "dict", "items": [[{"type": "str", "value": "a"}, {"type": "none"}, 1]]},
     "not a .key, value. pair"),
    ({"type": "dict", "items": [[{"type": "list", "items": []}, {"type": "none"}]]},
     "dict key is not a str or int"),
    ({"type": "dict", "items": {"a": 1}}, "no list of items"),
    ('{"type": "int", "value": 1e999}', "int entry holds float inf"),
    ('{"type": "int", "value": ' + "9" * 5000 + "}", "corrupt manifest"),
    ({"type": "int", "value": "12"}, "int entry holds str"),
    ({"type": "float", "value": "nope"}, "float entry holds 'nope'"),
    ({"type": "bool", "value": 1}, "bool entry holds int"),
    ({"type": "tensor", "index": 1e300}, "array index 1e\\+300"),
    ({"type": "tensor", "index": 10**30}, "not a small non-negative int"),
    ({"type": "tensor", "index": "0"}, "not a small non-negative int"),
    ({"type": "tensor"}, "array index None"),
    ({"type": ["tensor"]}, "unknown entry type \\['tensor'\\]"),
    ({"type": "module"}, "unknown entry type 'module'"),
    ([1, 2], "malformed manifest entry"),
])
def test_every_malformed_manifest_is_a_value_error_naming_the_file(tmp_path: Path, root,
                                                                   why: str) -> None:
    path = _archive(tmp_path / "bad.npz", root, {"arr_0": _npy_bytes(np.ones(2))})
    with pytest.raises(ValueError, match=r"bad\.npz.*" + why):
        mg.load(path)


@pytest.mark.parametrize("arr, why", [
    (np.array(["2020-01-01"], dtype="datetime64[D]"), "dtype datetime64"),
    (np.zeros(2, dtype=[("a", "f8")]), "dtype"),
])
def test_member_dtypes_a_checkpoint_never_holds_are_refused(tmp_path: Path, arr, why) -> None:
    path = _archive(tmp_path / "odd.npz", {"type": "ndarray", "index": 0},
                    {"arr_0": _npy_bytes(arr)})
    with pytest.raises(ValueError, match=r"odd\.npz.*" + why):
        mg.load(path)


def test_scalar_entries_must_be_0d(tmp_path: Path) -> None:
    path = _archive(tmp_path / "s.npz", {"type": "scalar", "index": 0},
                    {"arr_0": _npy_bytes(np.ones(3))})
    with pytest.raises(ValueError, match=r"s\.npz.*scalar entry refers to an array of shape"):
        mg.load(path)


def test_save_refuses_what_load_would_refuse(tmp_path: Path) -> None:
    deep: list = []
    for _ in range(150):
        deep = [deep]
    with pytest.raises(ValueError, match="nested more than 100 levels"):
        mg.save(deep, tmp_path / "deep.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and symlinks")
def test_save_uses_the_permissions_np_savez_would(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        mg.save({"v": 1}, tmp_path / "mine.npz")
        np.savez(tmp_path / "numpy.npz", v=1)
        os.umask(0o027)
        mg.save({"v": 1}, tmp_path / "strict.npz")
    finally:
        os.umask(old)
    mode = lambda p: (tmp_path / p).stat().st_mode & 0o777  # noqa: E731
    assert mode("mine.npz") == mode("numpy.npz") == 0o644  # was 0o600 (mkstemp)
    assert mode("strict.npz") == 0o640
    os.chmod(tmp_path / "mine.npz", 0o604)  # replacing a file keeps its permissions
    mg.save({"v": 2}, tmp_path / "mine.npz")
    assert mode("mine.npz") == 0o604 and mg.load(tmp_path / "mine.npz") == {"v": 2}


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and symlinks")
def test_save_writes_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "ckpt.npz"
    mg.save({"v": 1}, target)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    mg.save({"v": 2}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert mg.load(target) == {"v": 2}
    dangling = tmp_path / "next.npz"
    dangling.symlink_to(tmp_path / "real" / "new.npz")
    mg.save({"v": 3}, dangling)
    assert dangling.is_symlink() and mg.load(tmp_path / "real" / "new.npz") == {"v": 3}
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["ckpt.npz", "new.npz"]
