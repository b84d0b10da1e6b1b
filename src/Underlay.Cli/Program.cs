using System.CommandLine;
using Underlay.Cli.Commands;
using Underlay.Core.Registry;

var root = new RootCommand("underlay: the Underlay CLI (drpcli-compatible verbs) and on-machine agent");
CliContext.AddTo(root);
foreach (var type in ModelTypes.All)
{
    if (type == ModelTypes.Prefs)
    {
        continue;
    }

    var command = ObjectCommands.Create(type);
    if (type == ModelTypes.Users)
    {
        SystemCommands.AddUserCommands(command);
    }
    else if (type == ModelTypes.Machines)
    {
        SystemCommands.AddMachineCommands(command);
        AgentCommands.AddMachineVerbs(command);
    }
    else if (type == ModelTypes.Jobs)
    {
        AgentCommands.AddJobVerbs(command);
    }

    root.Subcommands.Add(command);
}

root.Subcommands.Add(SystemCommands.Info());
root.Subcommands.Add(SystemCommands.Prefs());
root.Subcommands.Add(SystemCommands.Contents());
root.Subcommands.Add(SystemCommands.Events());
root.Subcommands.Add(FileCommands.Isos());
root.Subcommands.Add(FileCommands.Files());
root.Subcommands.Add(AgentCommands.Agent());
root.Subcommands.Add(Underlay.Cli.Images.ImageCommands.Create());

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
