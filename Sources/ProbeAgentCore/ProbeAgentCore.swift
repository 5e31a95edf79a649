// Pure logic of the agent (config model, timer wheel). Filled in by the scheduler work.
