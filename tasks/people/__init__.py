"""People in the loop: reviewers' decisions and console accounts."""
