"""Claims and prior authorisation (issue 17): coverage, published rules, Da Vinci PAS,
adjudication and the patient's explanation of benefit."""
