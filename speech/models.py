"""Installing Vosk models: download (or take a zip), check, unpack atomically into
<data dir>/models/<lang>. Nothing is left half-installed: the model is unpacked beside its
place and moved in only once it is complete."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import requests

from dialogues.messages import KeyedError

# The official small model of each language (about 40-50 MB; grammars work with them).
OFFICIAL = {
    "fr": "https://alphacephei.com/vosk/models/vosk-model-small-fr-0.22.zip",
    "en": "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
    "ko": "https://alphacephei.com/vosk/models/vosk-model-small-ko-0.22.zip",
}
REQUIRED = ("am/final.mdl", "conf/mfcc.conf")


class ModelError(KeyedError):
    """A model that cannot be installed, with a reason a person can act on: its message
    in operator.yaml's `models`, as `relais models install` says it."""


def download(url: str, target: Path, progress: Callable[[int, int], None] | None = None) -> None:
    try:
        with requests.get(url, stream=True, timeout=(10, 60)) as response:
            response.raise_for_status()
            total = int(response.headers.get("Content-Length", 0))
            with target.open("wb") as out:
                for chunk in response.iter_content(1 << 20):
                    out.write(chunk)
                    if progress:
                        progress(len(chunk), total)
    except requests.RequestException as exc:
        raise ModelError("models.download", url=url, reason=exc) from None


def _model_root(folder: Path) -> Path:
    """The folder inside an unpacked archive that holds am/ and conf/."""
    for candidate in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]:
        if all((candidate / name).is_file() for name in REQUIRED):
            return candidate
    raise ModelError("models.no_model")


def install(
    archive: Path, models_dir: Path, lang: str, progress: Callable[[int, int], None] | None = None
) -> Path:
    """Unpack a model archive as the model of `lang`; returns where it is."""
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError("models.not_zip", archive=archive, reason=exc) from None
    with bundle:
        broken = bundle.testzip()
        if broken is not None:
            raise ModelError("models.damaged", archive=archive, member=broken)
        models_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{lang}-", dir=models_dir))
        try:
            members = bundle.infolist()
            for number, member in enumerate(members, start=1):
                target = (work / member.filename).resolve()
                if not target.is_relative_to(work.resolve()):
                    raise ModelError(
                        "models.forbidden_path", archive=archive, member=member.filename
                    )
                bundle.extract(member, work)
                if progress:
                    progress(number, len(members))
            root = _model_root(work)
            final, old = models_dir / lang, models_dir / f".{lang}-old"
            shutil.rmtree(old, ignore_errors=True)
            if final.exists():
                final.rename(old)
            root.rename(final)
            shutil.rmtree(old, ignore_errors=True)
            return final
        finally:
            shutil.rmtree(work, ignore_errors=True)


def installed(models_dir: Path) -> list[tuple[str, Path, int]]:
    """(language, folder, size in bytes) of each installed model."""
    if not models_dir.is_dir():
        return []
    found = []
    for folder in sorted(models_dir.iterdir()):
        if (
            folder.is_dir()
            and not folder.name.startswith(".")
            and all((folder / name).is_file() for name in REQUIRED)
        ):
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            found.append((folder.name, folder, size))
    return found
