import sys, time, pytest
from tests.conftest import body
from tests.e2e.harness import accepted, calls, wait_until
@pytest.mark.parametrize("patch", ["", "1"])
def test_exp(stack, gitlab, patch):
    stack.env["PATCH_DEQUEUE"] = patch
    stack.start_web()
    orig = stack._spawn
    stack._spawn = lambda name, *args: orig(name, *args) if args[0] != "worker" else _sp(name, *args)
    import subprocess
    from tests.e2e.harness import Proc
    def _sp(name, *args):
        log = stack.tmp_path / f"{name}.log"
        p = subprocess.Popen([sys.executable, "/tmp/exp/patched_worker.py", *args], cwd="/work/main", env=stack.env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        pr = Proc(name, p, log); stack.procs.append(pr); return pr
    doomed = stack.start_worker("killed")
    gitlab.delay[("PUT", "/projects/1/issues/23")] = 3.0
    job_id = accepted(stack.post(body("issue.open.incident"), key="open-1"))
    wait_until(lambda: any(c.method == "PUT" for c in calls(gitlab)))
    t0 = time.monotonic()
    stack.kill(doomed)
    stack.start_worker("new")
    try:
        stack.wait_finished(job_id, timeout=100)
    finally:
        print("RECOVERY", patch, time.monotonic() - t0, stack.job(job_id).get_status())
    assert False
