"""LTI 1.3: Founder Course as a tool launched from a school's LMS (launch, deep linking, grades, roster)."""
