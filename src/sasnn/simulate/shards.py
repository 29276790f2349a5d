"""Storage of simulated datasets: shard files and the manifest.

A shard holds curves of one class with different Q grids, so its arrays are ragged:
``q, intensity, sigma, dq`` are concatenated and ``offsets`` marks where each curve
starts. Files are written atomically (a killed run never leaves a half shard) and
byte-for-byte reproducibly, and are read without pickle.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sasnn.io.curve import Curve
from sasnn.io.jsonfile import read_described

FORMAT = "sasnn-dataset"
NO_STRUCTURE_FACTOR = "none"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Shard:
    """The curves of one shard (ragged arrays, see module docstring)."""

    class_name: str
    index: int
    offsets: np.ndarray  # (n + 1,) int64
    q: np.ndarray  # (total,) Å⁻¹
    intensity: np.ndarray  # (total,) cm⁻¹
    sigma: np.ndarray  # (total,) cm⁻¹
    dq: np.ndarray  # (total,) Å⁻¹, pinhole σ
    structure_factor: np.ndarray  # (n,) <U names, NO_STRUCTURE_FACTOR for none
    setup: np.ndarray  # (n,) <U instrument set-up kind
    parameters: np.ndarray  # (n,) <U JSON: model + measurement parameters
    noise: np.ndarray  # (n,) median relative σ of the curve
    rejected: dict  # reason -> count of draws thrown away

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def curve(self, i: int) -> Curve:
        """Curve ``i`` of this shard, with its label and exact parameters in ``meta``."""
        a, b = self.offsets[i], self.offsets[i + 1]
        meta = {
            "model": self.class_name,
            "structure_factor": _sf_or_none(self.structure_factor[i]),
            "setup": str(self.setup[i]),
            "parameters": json.loads(self.parameters[i]),
        }
        return Curve(
            self.q[a:b],
            self.intensity[a:b],
            self.sigma[a:b],
            self.dq[a:b],
            source="simulated",
            entry=f"{self.class_name}-{self.index}-{i}",
            meta=meta,
        )


def _sf_or_none(name: str) -> str | None:
    return None if name == NO_STRUCTURE_FACTOR else str(name)


_ARRAYS = ("offsets", "q", "intensity", "sigma", "dq", "structure_factor", "setup", "parameters", "noise")


def save_shard(path: Path, shard: Shard) -> str:
    """Write a shard atomically as a .npz with fixed zip metadata; return its sha256.

    ``np.savez`` stamps the current time into the zip, so it is written by hand
    here: the same shard always gives the same bytes.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        meta = {"class_name": shard.class_name, "index": shard.index, "rejected": shard.rejected}
        arrays = {name: getattr(shard, name) for name in _ARRAYS}
        arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), member.getvalue())
    data = buffer.getvalue()
    _atomic_write(path, data)
    return hashlib.sha256(data).hexdigest()


def load_shard(path: Path) -> Shard:
    """Read a shard written by :func:`save_shard` (no pickle)."""
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(npz["meta"].item())
        arrays = {name: npz[name] for name in _ARRAYS}
    return Shard(class_name=meta["class_name"], index=meta["index"], rejected=meta["rejected"], **arrays)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_manifest(directory: Path) -> dict:
    """The manifest of a dataset folder (ValueError if it isn't one)."""
    return read_described(directory, MANIFEST, FORMAT, "dataset", "dataset manifest")


def write_manifest(directory: Path, manifest: dict) -> None:
    _atomic_write(Path(directory) / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
