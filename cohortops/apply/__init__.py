"""Apply: carry out a reviewed plan against Braze, journaled and audited."""
