"""Identity between the gateway and the services: the signed service token and the roles."""
