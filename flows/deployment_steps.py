"""A `prefect deploy` build step: refuse to deploy until the Prefect Variable `lmforge_data_root` is set.

`prefect.yaml` derives every default path of its deployments from that one variable
(`{{ prefect.variables.lmforge_data_root }}/curated/latest`, ...). Prefect replaces an unset variable with an
empty string, which would silently turn those defaults into paths at the filesystem root (`/curated/latest`);
this step runs before any deployment is created and stops `prefect deploy` with a message saying what to set.
"""

from __future__ import annotations

from pathlib import PurePosixPath

DATA_ROOT_VARIABLE = "lmforge_data_root"


def require_data_root(data_root: str | None) -> dict[str, str]:
    """Check the resolved `lmforge_data_root` is an absolute path or an object-store URL; return it.

    Raises ValueError (Prefect stops the deploy and prints it) when the variable is unset, empty or relative:
    a relative root would resolve against each worker's working directory, which is what the variable is for
    avoiding."""
    value = str(data_root or "").strip()
    if not value:
        raise ValueError(
            f"the Prefect Variable {DATA_ROOT_VARIABLE!r} is not set: every lmforge deployment's default paths "
            f"live under it. Set it first, e.g. `prefect variable set {DATA_ROOT_VARIABLE} /srv/lmforge`, "
            "then run `prefect deploy` again"
        )
    if "://" not in value and not PurePosixPath(value).is_absolute():
        raise ValueError(
            f"the Prefect Variable {DATA_ROOT_VARIABLE!r} is {value!r}, a relative path that would resolve "
            "against each worker's working directory; set it to an absolute path (or an s3:// / gs:// URL)"
        )
    return {"data_root": value.rstrip("/") or "/"}
