"""Pure rules of crm-gateway: no I/O, no framework, nothing of the project outside `domain`."""
