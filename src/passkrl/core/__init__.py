"""Pure maths on dense tensors. Imports only the standard library, numpy and torch."""
