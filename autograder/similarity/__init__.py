"""Code similarity between the students of a class (copydetect's winnowing), stubs excluded."""
