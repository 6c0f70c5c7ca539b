"""`autograder grade`: grade a folder of submissions in parallel, resumably."""
