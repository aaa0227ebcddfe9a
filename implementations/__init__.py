"""Every method, one file each; discovered by ``harness.contracts.registry``."""
