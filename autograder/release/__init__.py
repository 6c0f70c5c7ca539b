"""`autograder release`: student stubs from the solutions, and the student bundle."""
