"""End-to-end demos of each part's solution on the bundled real data (`autograder demo`)."""
