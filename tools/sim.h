/* SPDX-License-Identifier: MIT */
/*
 * sim.h: the slotpool-sim commands, one file each (sim_<command>.c). Each
 * takes its arguments with argv[0] the command's name (as main's argv has
 * the program's) and returns the exit status (cli.h).
 */
#ifndef SP_TOOLS_SIM_H
#define SP_TOOLS_SIM_H

int sim_cmd_replay(int argc, char **argv);
int sim_cmd_gen(int argc, char **argv);
int sim_cmd_sweep(int argc, char **argv);
int sim_cmd_mt(int argc, char **argv);

#endif /* SP_TOOLS_SIM_H */
