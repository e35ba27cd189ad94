/*
 * sim.h: the slotpool-sim commands, one file each (sim_<command>.c). Each
 * takes the arguments after the command name and returns the exit status.
 */
#ifndef SP_TOOLS_SIM_H
#define SP_TOOLS_SIM_H

int sim_cmd_replay(int argc, char **argv);
int sim_cmd_gen(int argc, char **argv);
int sim_cmd_sweep(int argc, char **argv);
int sim_cmd_mt(int argc, char **argv);

#endif /* SP_TOOLS_SIM_H */
