using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Underlay.Images;
using Underlay.Images.Cpio;

namespace Underlay.Cli.Images;

/// <summary>
/// <c>underlay image build|inspect|push</c>: builds LinuxKit images (Underlay.Images), lists what is in an output, and
/// puts an image into Underlay as a boot environment (<see cref="ImagePushCommand"/>).
/// Progress goes to the terminal; when stdout is not a terminal only the results are printed.
/// </summary>
public static class ImageCommands
{
    public static Command Create()
    {
        var image = new Command("image", "Build, inspect and push LinuxKit-compatible boot images");
        image.Subcommands.Add(CreateBuild());
        image.Subcommands.Add(CreateInspect());
        image.Subcommands.Add(ImagePushCommand.Create());
        return image;
    }

    private static Command CreateBuild()
    {
        var specs = new Argument<string[]>("spec") { Description = "LinuxKit YAML files, merged in order", Arity = ArgumentArity.OneOrMore };
        var formats = new Option<string[]>("--format", "-f")
        {
            Description = "Output format (repeatable): kernel+initrd, tar-kernel-initrd, tar, iso-bios, iso-efi",
            DefaultValueFactory = _ => ["kernel+initrd"],
        };
        var outputDirectory = new Option<string>("--output-dir", "-o") { Description = "Where outputs are written", DefaultValueFactory = _ => "." };
        var name = new Option<string?>("--name", "-n") { Description = "Base name of the outputs (default: the first spec file's name)" };
        var cacheDirectory = new Option<string>("--cache-dir")
        {
            Description = "Image cache (an OCI layout); default $XDG_CACHE_HOME/underlay/images or ~/.cache/underlay/images",
            DefaultValueFactory = _ => DefaultCacheDirectory(),
        };
        var platform = new Option<string>("--platform") { Description = "Platform of the images, os/arch[/variant]", DefaultValueFactory = _ => "linux/amd64" };
        var registryAuth = new Option<string[]>("--registry-auth")
        {
            Description = "Registry credentials host=user:password (repeatable; also UNDERLAY_REGISTRY_AUTH, comma-separated)",
        };
        var registryCa = new Option<string[]>("--registry-ca") { Description = "PEM file of a CA to trust for registry TLS (repeatable)" };
        var plainHttp = new Option<string[]>("--plain-http") { Description = "Registry host to reach over plain HTTP (repeatable)" };
        var pull = new Option<bool>("--pull") { Description = "Look tags up again even when the cache has them" };
        var compression = new Option<string>("--compression") { Description = "initrd gzip effort: fastest, optimal or smallest", DefaultValueFactory = _ => "fastest" };
        var force = new Option<bool>("--force") { Description = "Build even when the outputs of identical inputs are present" };

        var command = new Command("build", "Build an image from LinuxKit YAML")
        {
            specs, formats, outputDirectory, name, cacheDirectory, platform, registryAuth, registryCa, plainHttp, pull, compression, force,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            try
            {
                var formatList = new List<OutputFormat>();
                foreach (var text in parseResult.GetValue(formats) ?? [])
                {
                    foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!OutputFormats.TryParse(item, out var format))
                        {
                            throw new ImageBuildException($"unknown format '{item}' (kernel+initrd, tar-kernel-initrd, tar, iso-bios, iso-efi)");
                        }

                        formatList.Add(format);
                    }
                }

                var registry = new RegistryOptions();
                if (Environment.GetEnvironmentVariable("UNDERLAY_REGISTRY_AUTH") is { Length: > 0 } fromEnvironment)
                {
                    registry.AddCredentials(fromEnvironment);
                }

                foreach (var credential in parseResult.GetValue(registryAuth) ?? [])
                {
                    registry.AddCredentials(credential);
                }

                foreach (var file in parseResult.GetValue(registryCa) ?? [])
                {
                    registry.TrustedCertificates.ImportFromPemFile(file);
                }

                foreach (var host in parseResult.GetValue(plainHttp) ?? [])
                {
                    registry.PlainHttpHosts.Add(host);
                }

                var level = parseResult.GetValue(compression)?.ToLowerInvariant() switch
                {
                    "fastest" => InitrdCompression.Fastest,
                    "optimal" => InitrdCompression.Optimal,
                    "smallest" => InitrdCompression.SmallestSize,
                    var other => throw new ImageBuildException($"unknown compression '{other}' (fastest, optimal, smallest)"),
                };

                using var progress = new ConsoleProgress(output, enabled: !Console.IsOutputRedirected && output == Console.Out);
                var result = await ImageBuilder.BuildAsync(new BuildRequest
                {
                    SpecFiles = parseResult.GetValue(specs)!,
                    Formats = formatList,
                    OutputDirectory = parseResult.GetValue(outputDirectory)!,
                    Name = parseResult.GetValue(name),
                    CacheDirectory = parseResult.GetValue(cacheDirectory)!,
                    Platform = parseResult.GetValue(platform)!,
                    Registry = registry,
                    AlwaysPull = parseResult.GetValue(pull),
                    Compression = level,
                    UseOutputCache = !parseResult.GetValue(force),
                    Progress = progress,
                }, cancellationToken).ConfigureAwait(false);
                progress.Clear();
                foreach (var warning in result.Warnings)
                {
                    await error.WriteLineAsync("warning: " + warning).ConfigureAwait(false);
                }

                if (result.UpToDate)
                {
                    await output.WriteLineAsync("up to date (inputs unchanged)").ConfigureAwait(false);
                }
                else if (result.BlobsPulled > 0)
                {
                    await output.WriteLineAsync($"pulled {result.BlobsPulled} blob(s), {FormatSize(result.BytesPulled)}").ConfigureAwait(false);
                }

                foreach (var file in result.Outputs)
                {
                    await output.WriteLineAsync($"{file.Path}\t{FormatSize(file.Size)}").ConfigureAwait(false);
                }

                return 0;
            }
            catch (ImageBuildException e)
            {
                await error.WriteLineAsync("error: " + e.Message).ConfigureAwait(false);
                return 1;
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                await error.WriteLineAsync("error: cannot read a --registry-ca certificate: " + e.Message).ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }

    private static Command CreateInspect()
    {
        var file = new Argument<string>("file") { Description = "An initrd (cpio, gzip'd cpio, microcode + gzip) or a tar" };
        var command = new Command("inspect", "List the entries of an output, like cpio -tv") { file };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var path = parseResult.GetValue(file)!;
            try
            {
                long count = 0, bytes = 0;
                foreach (var entry in ArchiveInspector.Read(path))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var line = string.Create(CultureInfo.InvariantCulture,
                        $"{entry.ModeString} {entry.Uid,5}/{entry.Gid,-5} {entry.Size,10} {entry.Path}{(entry.LinkTarget is null ? "" : (entry.Type == CpioEntryType.Symlink ? " -> " : " link to ") + entry.LinkTarget)}");
                    await output.WriteLineAsync(line).ConfigureAwait(false);
                    count++;
                    bytes += entry.Size;
                }

                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{count} entries, {FormatSize(bytes)} of file data")).ConfigureAwait(false);
                return 0;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"error: {path}: {e.Message}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }

    private static string DefaultCacheDirectory()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var baseDirectory = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
            : xdg;
        return Path.Combine(baseDirectory, "underlay", "images");
    }

    private static string FormatSize(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    /// <summary>One status line on a terminal, rewritten in place (plain Console keeps the CLI NativeAOT-clean).</summary>
    private sealed class ConsoleProgress(TextWriter output, bool enabled) : IProgress<BuildProgress>, IDisposable
    {
        private readonly object _lock = new();
        private long _pulled;
        private long _processed;
        private BuildPhase _phase = BuildPhase.Resolve;
        private DateTime _lastDraw = DateTime.MinValue;
        private int _width;

        public void Report(BuildProgress value)
        {
            if (!enabled)
            {
                return;
            }

            lock (_lock)
            {
                if (value.Phase != _phase)
                {
                    _phase = value.Phase;
                    _processed = 0;
                }

                if (value.Phase == BuildPhase.Pull)
                {
                    _pulled += value.Bytes;
                }
                else
                {
                    _processed += value.Bytes;
                }

                var now = DateTime.UtcNow;
                if (value.Bytes != 0 && now - _lastDraw < TimeSpan.FromMilliseconds(100))
                {
                    return;
                }

                _lastDraw = now;
                var text = value.Phase switch
                {
                    BuildPhase.Pull => $"pull    {FormatSize(_pulled)}  {Short(value.Message)}",
                    BuildPhase.Scan => $"scan    {FormatSize(_processed)}  {Short(value.Message)}",
                    BuildPhase.Write => $"write   {FormatSize(_processed)}  {Short(value.Message)}",
                    _ => $"{value.Phase.ToString().ToLowerInvariant(),-7} {Short(value.Message)}",
                };
                Draw(text);
            }
        }

        private static string Short(string text) => text.Length > 60 ? "…" + text[^59..] : text;

        private void Draw(string text)
        {
            var padded = text.PadRight(_width);
            _width = text.Length;
            output.Write("\r" + padded);
            output.Flush();
        }

        public void Clear()
        {
            if (enabled && _width > 0)
            {
                lock (_lock)
                {
                    output.Write("\r" + new string(' ', _width) + "\r");
                    _width = 0;
                }
            }
        }

        public void Dispose() => Clear();
    }
}
