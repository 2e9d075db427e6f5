"""HTTP plumbing shared by the blueprints: request parsing, auth, errors, the route registry."""
