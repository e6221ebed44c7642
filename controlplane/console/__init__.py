"""The Django-admin ops console; for now the embedded-default runner (`make run`) and the demo seed."""
