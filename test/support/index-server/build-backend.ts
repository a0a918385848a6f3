/**
 * The PEP 517 build backend inside each generated sdist (`backend-path = ["."]`, no build
 * requirements): pip can prepare metadata for, build and install the sdists the local index
 * serves without fetching setuptools from an index that does not have it. It reads the
 * name and version from the sdist's own PKG-INFO and packs `<dist>/` into a pure wheel.
 */
export const BUILD_BACKEND_MODULE = 'pkgstream_build';

export const BUILD_BACKEND_SOURCE = `"""PEP 517 backend of a test sdist: no requirements, builds a pure-Python wheel."""
import base64
import hashlib
import os
import re
import tarfile
import zipfile

WHEEL = "Wheel-Version: 1.0\\nGenerator: pkgstream-index-server\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"


def _metadata():
    with open("PKG-INFO", encoding="utf-8") as f:
        text = f.read()
    fields = dict(line.split(": ", 1) for line in text.split("\\n\\n", 1)[0].splitlines() if ": " in line)
    dist = re.sub(r"[-_.]+", "_", fields["Name"]).lower()
    return text, dist, fields["Version"]


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    text, dist, version = _metadata()
    info = f"{dist}-{version}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(metadata_directory, info, "WHEEL"), "w", encoding="utf-8") as f:
        f.write(WHEEL)
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    text, dist, version = _metadata()
    info = f"{dist}-{version}.dist-info"
    files = {}
    for root, _, names in os.walk(dist):
        for name in sorted(names):
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[path.replace(os.sep, "/")] = f.read()
    files[f"{info}/METADATA"] = text.encode("utf-8")
    files[f"{info}/WHEEL"] = WHEEL.encode("utf-8")
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    filename = f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
        wheel.writestr(f"{info}/RECORD", "\\n".join(record) + "\\n")
    return filename


def build_sdist(sdist_directory, config_settings=None):
    _, dist, version = _metadata()
    base = f"{dist}-{version}"
    with tarfile.open(os.path.join(sdist_directory, f"{base}.tar.gz"), "w:gz") as sdist:
        for entry in sorted(os.listdir(".")):
            sdist.add(entry, arcname=f"{base}/{entry}")
    return f"{base}.tar.gz"
`;
