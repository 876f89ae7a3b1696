"""Where a dataset lives: a local path, or a path on an object store (`s3://`, `gs://`, ...) that `pyarrow.fs`
resolves.

Every `--input` and `--output` goes through `parse_location`, so `s3://bucket/out` is never mistaken for a local
folder named `s3:`. Object stores are configured the way the rest of the ecosystem configures them: for S3 the
standard `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_SESSION_TOKEN` and `AWS_REGION` (or `AWS_DEFAULT_REGION`) environment variables, for GCS Google's
application default credentials. pyarrow's `S3FileSystem` constructor does not read `AWS_ENDPOINT_URL` itself, so
it is passed as `endpoint_override` here.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.fs as pafs

from stages.core.errors import UserError

# A URI scheme followed by `://`; one letter is a Windows drive (`C://` is not an object store).
URI = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+)://(?P<rest>.*)$")
S3_SCHEMES = ("s3", "s3a")
DEFAULT_S3_REGION = "us-east-1"


class LocationError(UserError):
    """A path or URI lmforge cannot open (unknown scheme, no bucket, bad credentials); one line."""


@dataclass(frozen=True)
class Location:
    """A local path (`filesystem` None) or a path inside an object store's `filesystem`.

    `uri` is what users read in messages and manifests (`s3://bucket/prefix`, or the absolute local path);
    `path` is what `filesystem` takes (`bucket/prefix`). Two locations are equal when their URIs are.
    """

    uri: str
    path: str
    filesystem: pafs.FileSystem | None = field(default=None, compare=False, repr=False)

    @property
    def is_local(self) -> bool:
        return self.filesystem is None

    @property
    def local_path(self) -> Path:
        if self.filesystem is not None:
            raise ValueError(f"{self.uri} is not a local path")
        return Path(self.path)

    @property
    def name(self) -> str:
        return posixpath.basename(self.path.rstrip("/"))

    @property
    def scheme(self) -> str:
        return urlparse(self.uri).scheme if self.filesystem is not None else "file"

    def child(self, *names: str) -> Location:
        """A location under this one (`names` are plain names or relative POSIX paths)."""
        if self.filesystem is None:
            joined = self.local_path.joinpath(*names)
            return Location(uri=str(joined), path=str(joined))
        suffix = "/".join(name.strip("/") for name in names)
        return Location(uri=f"{self.uri}/{suffix}", path=f"{self.path}/{suffix}", filesystem=self.filesystem)

    def __truediv__(self, name: str) -> Location:
        """`location / "cleaned"`, as with a Path, so code written for local paths keeps working."""
        return self.child(name)

    @property
    def parent(self) -> Location:
        if self.filesystem is None:
            return Location(uri=str(self.local_path.parent), path=str(self.local_path.parent))
        return Location(
            uri=self.uri.rsplit("/", 1)[0], path=self.path.rsplit("/", 1)[0], filesystem=self.filesystem
        )

    def sibling(self, name: str) -> Location:
        """A location beside this one (same parent, same store)."""
        if self.filesystem is None:
            target = self.local_path.parent / name
            return Location(uri=str(target), path=str(target))
        return Location(
            uri=f"{self.uri.rsplit('/', 1)[0]}/{name}",
            path=f"{self.path.rsplit('/', 1)[0]}/{name}",
            filesystem=self.filesystem,
        )

    def contains(self, other: Location) -> bool:
        """True when `other` is this location or lies under it (same store)."""
        if self.is_local != other.is_local or self.scheme != other.scheme:
            return False
        if self.is_local:
            mine, theirs = self.local_path.resolve(), other.local_path.resolve()
            return mine == theirs or mine in theirs.parents
        return other.path == self.path or other.path.startswith(self.path + "/")

    def __str__(self) -> str:
        return self.uri


def is_uri(text: str | Path) -> bool:
    """Whether `text` names an object store (`s3://...`) rather than a local path (`file://` counts as local)."""
    if isinstance(text, Path):
        return False
    match = URI.match(text)
    return bool(match) and match.group("scheme").lower() != "file"


def s3_filesystem(uri: str) -> pafs.FileSystem:
    """An S3 filesystem configured from the standard AWS environment variables (endpoint included)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        filesystem, _ = pafs.FileSystem.from_uri(uri)  # real AWS: pyarrow finds the bucket's region itself
        return filesystem
    parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
    return pafs.S3FileSystem(
        endpoint_override=parsed.netloc or parsed.path,
        scheme=parsed.scheme or "https",
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_S3_REGION,
    )


def parse_location(text: str | Path | Location) -> Location:
    """A `--input`/`--output` argument as a Location: `s3://b/p`, `gs://b/p`, `file:///p` or a local path.

    Raises LocationError (one line) for a URI no filesystem handles or an object store without a bucket.
    """
    if isinstance(text, Location):
        return text
    if not is_uri(text):
        raw = str(text)
        if raw.lower().startswith("file://"):
            raw = urlparse(raw).path
        local = Path(raw).expanduser()
        absolute = local if local.is_absolute() else Path.cwd() / local
        return Location(uri=str(absolute), path=str(absolute))
    match = URI.match(str(text))
    assert match is not None  # is_uri said so
    scheme, bucket_and_key = match.group("scheme").lower(), match.group("rest").rstrip("/")
    uri = f"{match.group('scheme')}://{bucket_and_key}"
    if not bucket_and_key or bucket_and_key.startswith("/"):
        raise LocationError(f"{text}: an object-store URI needs a bucket, as in {scheme}://BUCKET/PREFIX")
    try:
        if scheme in S3_SCHEMES:
            filesystem = s3_filesystem(uri)
            path = bucket_and_key
        else:
            filesystem, path = pafs.FileSystem.from_uri(uri)
    except (OSError, ValueError, TypeError) as error:
        raise LocationError(
            f"cannot open {text}: {str(error).splitlines()[0] if str(error) else error}"
        ) from error
    return Location(uri=uri, path=path.rstrip("/"), filesystem=filesystem)


def any_remote(locations: list[Location]) -> bool:
    return any(not location.is_local for location in locations)
