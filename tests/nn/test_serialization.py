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
