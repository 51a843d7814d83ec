"""The engine gate (issue 5): prove a new llama.cpp build against the pinned one before it
reaches the fleet — pin and integrity (`lock`), start diagnosis (`diagnose`), greedy
correctness against goldens (`correctness`, `goldens`), interleaved speed (`speed`), the
report (`report`), the release feed (`releases`) and the whole run (`run`)."""
