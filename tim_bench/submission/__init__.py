"""Challenge submissions: the official EPIC-100 and EPIC-Sounds zips (writers in ``epic``, the format of each
challenge in ``challenges``, ``reader``) and the original TIM's prediction dict (``original``)."""
