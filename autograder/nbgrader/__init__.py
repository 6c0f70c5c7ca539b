"""nbgrader integration: the course's `source/` folder for the assignment, and the gradebook.

- `autograder nbgrader-source COURSE_DIR` writes `source/<assignment>/`: the companion notebooks,
  the package `cnn_rnn/` (student stubs, generated from the solutions) and, with `--answers`, the
  optional answers notebooks with solution regions that nbgrader's generate_assignment strips.
- `autograder grade COURSE_DIR --out DIR --nbgrader COURSE_DIR --assignment NAME` grades
  `submitted/<student>/NAME/` with the hidden suite and writes every check's score into the
  course's gradebook.db through `nbgrader.api.Gradebook` (see gradebook.py).
"""
