"""Where the scripts keep a checkout's database: pg_dirs and odoo_data in scripts/common.sh.

PostgreSQL refuses to run as root, so root's clusters belong to the postgres system user, which
cannot enter root's private home: there the cluster goes to a place of its own, named after the
checkout. The tests build fake checkouts (a copy of common.sh in <checkout>/scripts/, as in a
real one), run the shell functions in them, and start real clusters where the path matters.

Run as root (a container, CI), they run each case as its user: root itself, and the `nobody`
account for a normal user. Run as a normal user, the root cases give pg_place the inputs that
root would (the postgres owner, a private directory) without the privileged steps.
"""

import hashlib
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

COMMON = Path(__file__).resolve().parent.parent / "common.sh"
IS_ROOT = os.geteuid() == 0
NORMAL_USER = "nobody" if IS_ROOT else None  # None: the user running the tests
# The account that runs root's clusters; without root, any account but ours will do.
POSTGRES = "postgres" if IS_ROOT else "nobody"

SOURCE = 'set -e; source "$1/scripts/common.sh"; PG_FALLBACK_BASE=$2; shift 2\n'
DIRS = 'pg_dirs\nprintf "%s\\n" "$PG_OWNER" "$PG_DATA" "$PG_SOCK"\n'
# Start the checkout's cluster, leave a mark in it or check the mark, stop it.
CLUSTER = """
trap 'pg_stop "$PG_DATA"' EXIT
pg_start "$PG_DATA" "$PG_SOCK" 5432
test -S "$PG_SOCK/.s.PGSQL.5432"
psql() { "$(pg_bindir)/psql" -U postgres -d postgres -qtAc "$1"; }
case "$1" in
  mark) psql "CREATE DATABASE kept_across_runs" ;;
  check) test "$(psql "SELECT count(*) FROM pg_database WHERE datname = 'kept_across_runs'")" = 1 ;;
esac
"""


@pytest.fixture
def world():
    """A directory anyone may enter (not pytest's tmp_path: root's is private), with the
    fallback base inside; every cluster left running under it is stopped afterwards."""
    top = Path(tempfile.mkdtemp(prefix="digital_sign-scripts-test.", dir="/tmp"))
    top.chmod(0o755)
    yield top
    for pid_file in top.rglob("postmaster.pid"):
        subprocess.run(
            ["bash", "-c", f'source "{COMMON}"; pg_owner; pg_stop "$1"', "_", str(pid_file.parent)],
            check=False,
        )
    shutil.rmtree(top, ignore_errors=True)


def checkout(parent, name="digital_sign", user=None, mode=0o755):
    """A fake checkout PARENT/NAME whose parent has MODE, owned by USER (None: us)."""
    parent.mkdir(parents=True, exist_ok=True)
    parent.chmod(mode)
    root = parent / name
    (root / "scripts").mkdir(parents=True)
    shutil.copy(COMMON, root / "scripts" / "common.sh")
    if user:
        account = pwd.getpwnam(user)
        for path in (parent, root, root / "scripts", root / "scripts" / "common.sh"):
            os.chown(path, account.pw_uid, account.pw_gid)
    return root


def sh(root, base, script, *args, user=None):
    """Run SCRIPT after sourcing ROOT's common.sh, as USER (None: us); return the process."""
    command = ["bash", "-c", SOURCE + script, "_", str(root), str(base), *args]
    if user:
        command = ["runuser", "-u", user, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return done


def pg_dirs(root, base, user=None):
    """Run pg_dirs in ROOT as USER: (PG_OWNER, PG_DATA, PG_SOCK, what it said)."""
    done = sh(root, base, DIRS, user=user)
    owner, data, sock = done.stdout.split("\n")[:3]
    return owner, Path(data), Path(sock), done.stderr


def expected_place(base, root):
    """The fallback place: <name, spaces and the like replaced>-<sha256 of the path, 12 hex>."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", root.name)[:32]
    return base / f"{name}-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"


def private(path):
    """True when nobody but the owner can read, write or enter PATH."""
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def postgres_can(test, path):
    command = ["runuser", "-u", "postgres", "--", "test", test, str(path)]
    return subprocess.run(command, check=False).returncode == 0


def test_normal_user_keeps_the_cluster_in_the_checkout(world):
    root = checkout(world / "home", user=NORMAL_USER)
    base = world / "lib"

    owner, data, sock, said = pg_dirs(root, base, user=NORMAL_USER)

    assert (owner, data, sock) == ("", root / ".run" / "pg", root / ".run" / "pgsock")
    assert not (root / ".run" / "pg-place").exists()
    assert not base.exists()
    assert "lives in" not in said


def test_root_in_a_private_home_gets_a_place_of_its_own_kept_across_runs(world):
    root = checkout(world / "root", mode=0o700)
    base = world / "lib"
    if not IS_ROOT:  # pg_place with root's inputs: the postgres owner, a private home
        (root / ".run").mkdir()
        place = sh(root, base, 'pg_place "$1" "$2"', str(root), POSTGRES).stdout.strip()
        assert Path(place) == expected_place(base, root)
        assert sh(root, base, 'pg_place "$1" ""', str(root)).stdout.strip() == str(root / ".run")
        other = checkout(world / "other" / "root", mode=0o700)
        (other / ".run").mkdir()
        assert sh(other, base, 'pg_place "$1" "$2"', str(other), POSTGRES).stdout.strip() != place
        return

    owner, data, sock, said = pg_dirs(root, base)

    place = expected_place(base, root)
    assert (owner, data, sock) == ("postgres", place / "pg", place / "pgsock")
    assert str(place) in said  # the script says where
    assert not postgres_can("-x", root / ".run")  # the reason, for real
    assert (root / ".run" / "pg-place").resolve() == place
    assert place.stat().st_uid == pwd.getpwnam("postgres").pw_uid and private(place)
    assert stat.S_IMODE(base.stat().st_mode) == 0o711  # entered, not listed
    # A real cluster there: private, and found again by the next run.
    sh(root, base, DIRS + CLUSTER, "mark")
    assert postgres_can("-O", data / "PG_VERSION")
    assert private(data) and private(sock)
    assert pg_dirs(root, base)[1] == data
    sh(root, base, DIRS + CLUSTER, "check")
    # Another checkout of the same name keeps a cluster of its own.
    other = checkout(world / "other" / "root", mode=0o700)
    other_data = pg_dirs(other, base)[1]
    assert other_data != data and other_data.parent.name.startswith("digital_sign-")


def test_checkout_path_with_spaces(world):
    # A normal user: the cluster, its socket included, lives in the checkout, spaces and all.
    root = checkout(world / "my work", "digital sign", user=NORMAL_USER)
    _owner, data, sock, _said = pg_dirs(root, world / "lib", user=NORMAL_USER)
    assert (data, sock) == (root / ".run" / "pg", root / ".run" / "pgsock")
    sh(root, world / "lib", DIRS + CLUSTER, "mark", user=NORMAL_USER)
    sh(root, world / "lib", DIRS + CLUSTER, "check", user=NORMAL_USER)
    assert private(data) and private(sock)

    # Root in a private home: the place's name has no spaces, and a cluster runs there.
    home = checkout(world / "root home", "digital sign", mode=0o700)
    if IS_ROOT:
        data = pg_dirs(home, world / "lib")[1]
        sh(home, world / "lib", DIRS + CLUSTER, "mark")
    else:
        (home / ".run").mkdir()
        place = sh(home, world / "lib", 'pg_place "$1" "$2"', str(home), POSTGRES).stdout.strip()
        data = Path(place) / "pg"
    assert data.parent == expected_place(world / "lib", home)
    assert data.parent.name.startswith("digital_sign-")


def test_odoo_files_live_beside_the_cluster_and_a_former_filestore_is_copied_once(world):
    """Two checkouts' databases of one name must not share a filestore: Odoo's data directory
    goes beside each cluster; a cluster made before keeps its files (a copy of the old place)."""
    home = world / "home"
    old = home / ".local" / "share" / "Odoo" / "filestore" / "digital_sign" / "ab"
    old.mkdir(parents=True)
    (old / "ab12").write_bytes(b"attachment")
    script = 'PG_DATA=$1/pg HOME=$2; unset XDG_DATA_HOME; odoo_data digital_sign; echo "$ODOO_DATA"'
    fresh, former = checkout(world / "fresh"), checkout(world / "former")
    (former / "pg").mkdir(parents=True)
    (former / "pg" / "PG_VERSION").write_text("15\n")

    for root in (fresh, former):
        said = sh(root, world / "lib", script, str(root), str(home)).stdout.strip()
        assert said == str(root / "odoo-data")

    assert not (fresh / "odoo-data" / "filestore").exists()  # a new cluster starts empty
    copied = former / "odoo-data" / "filestore" / "digital_sign" / "ab" / "ab12"
    assert copied.read_bytes() == b"attachment"
    assert private(former / "odoo-data") and private(fresh / "odoo-data")
    copied.unlink()  # copied once: a later run leaves the new place as it is
    sh(former, world / "lib", script, str(former), str(home))
    assert not copied.exists()
