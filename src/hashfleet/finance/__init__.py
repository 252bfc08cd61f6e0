"""Capital plan: balance sheet, treasury, debt, equity, covenants, insolvency and stress tests."""
