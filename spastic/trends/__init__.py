"""The trend page: tone, pain and dose over the signed visits, and the chart the PDF shares."""
