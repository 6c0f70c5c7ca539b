"""Gradescope integration: an autograder zip whose `run_autograder` grades `/autograder/submission`
with the hidden suite (and the public checks, shown at once) and writes `results.json` in
Gradescope's format. Student code runs in the sandboxed worker as an unprivileged user.

- `autograder gradescope --out autograder.zip` builds the zip (build.py);
- `run_autograder` (in the zip) runs `python -m autograder.gradescope.run` (run.py);
- results.py maps `autograder.results` onto Gradescope's results.json.
"""
