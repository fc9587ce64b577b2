#pragma once

namespace warden {

// One `warden` command. Its constructor adds its subcommand and options to the parent
// CLI::App; Cli::Run runs the one that was given. The list of commands is in cli.cc, once.
class Command {
 public:
  virtual ~Command() = default;
  // Whether this command was given on the command line.
  virtual bool selected() const = 0;
  // Runs it; returns the exit code. Throws Error (errors.h) for failures.
  virtual int Run() = 0;
};

}  // namespace warden
