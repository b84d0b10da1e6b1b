using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Underlay.Images.Assembly;
using Underlay.Images.Cpio;
using Underlay.Images.Output;
using Underlay.Images.Sources;
using Underlay.Images.Spec;

namespace Underlay.Images;

/// <summary>
/// Builds LinuxKit images. The whole build streams: layer headers are read once to plan the filesystem, then
/// every layer is read once more and written straight into the outputs; nothing is unpacked to disk, and no
/// privilege is needed (device nodes are just numbers in headers).
/// </summary>
public static class ImageBuilder
{
    /// <summary>Bumped whenever output bytes change for the same inputs, so old stamps stop matching.</summary>
    private const string BuilderVersion = "underlay-images/1";

    public static async Task<BuildResult> BuildAsync(BuildRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.SpecFiles.Count == 0)
        {
            throw new ImageBuildException("no spec file given");
        }

        if (request.Formats.Count == 0)
        {
            throw new ImageBuildException("no output format given");
        }

        var progress = request.Progress;
        var texts = new List<(string Path, string Text)>();
        foreach (var file in request.SpecFiles)
        {
            try
            {
                texts.Add((file, await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ImageBuildException($"cannot read spec file {file}: {e.Message}", e);
            }
        }

        var spec = SpecMerger.Merge(texts.Select(t => SpecParser.Parse(t.Text, t.Path)).ToList());
        var name = request.Name ?? Path.GetFileNameWithoutExtension(request.SpecFiles[0]);
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal))
        {
            throw new ImageBuildException($"invalid output name '{name}'");
        }

        var formats = request.Formats.Distinct().ToList();
        var needsKernel = formats.Any(f => f != OutputFormat.Tar);
        if (needsKernel && string.IsNullOrEmpty(spec.Kernel.Image))
        {
            throw new ImageBuildException($"output {OutputFormats.Name(formats.First(f => f != OutputFormat.Tar))} needs a 'kernel' section");
        }

        var workingDirectory = Environment.CurrentDirectory;
        var cache = new ImageCache(request.CacheDirectory);
        using var resolver = new ImageResolver(cache, request.Registry, request.Platform, request.AlwaysPull, progress, workingDirectory);
        var images = new Dictionary<string, ResolvedImage>(StringComparer.Ordinal);
        foreach (var reference in AllReferences(spec))
        {
            if (!images.ContainsKey(reference))
            {
                images[reference] = await resolver.ResolveAsync(reference, cancellationToken).ConfigureAwait(false);
            }
        }

        var outputDirectory = Path.GetFullPath(request.OutputDirectory);
        Directory.CreateDirectory(outputDirectory);
        var inputDigest = InputDigest(request, texts, spec, images, formats, name, workingDirectory);
        var stampPath = Path.Combine(outputDirectory, $".{name}.underlay-build.json");
        BuildResult Result(IReadOnlyList<BuildOutput> outputs, bool upToDate) => new()
        {
            Outputs = outputs,
            UpToDate = upToDate,
            Warnings = spec.Warnings,
            ManifestRequests = resolver.ManifestRequests,
            BlobRequests = resolver.BlobRequests,
            BlobsPulled = resolver.BlobsPulled,
            BytesPulled = resolver.BytesPulled,
            InputDigest = inputDigest,
        };

        if (request.UseOutputCache && ReadStamp(stampPath, inputDigest) is { } kept)
        {
            progress?.Report(new BuildProgress(BuildPhase.Done, "outputs are up to date"));
            return Result(kept, upToDate: true);
        }

        File.Delete(stampPath);
        progress?.Report(new BuildProgress(BuildPhase.Assemble, "planning the filesystem"));
        var tree = new Assembler(spec, images, workingDirectory, progress).Assemble();

        var scratch = Path.Combine(outputDirectory, $".{name}.underlay-tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        try
        {
            var finished = new List<(string Temporary, string Final)>();
            string? kernelFile = null, initrdFile = null, cmdline = null;
            if (needsKernel)
            {
                kernelFile = Path.Combine(scratch, "kernel");
                initrdFile = Path.Combine(scratch, "initrd.img");
                progress?.Report(new BuildProgress(BuildPhase.Write, "kernel and initrd"));
                WriteKernelAndInitrd(tree, kernelFile, initrdFile, request.Compression, progress, cancellationToken);
                cmdline = Encoding.UTF8.GetString(((InlineContent)tree.Find("boot/cmdline")!.Content!.Source).Data);
            }

            foreach (var format in formats)
            {
                cancellationToken.ThrowIfCancellationRequested();
                switch (format)
                {
                    case OutputFormat.KernelInitrd:
                        var cmdlineFile = Path.Combine(scratch, "cmdline");
                        await File.WriteAllTextAsync(cmdlineFile, cmdline, cancellationToken).ConfigureAwait(false);
                        finished.Add((kernelFile!, $"{name}-kernel"));
                        finished.Add((initrdFile!, $"{name}-initrd.img"));
                        finished.Add((cmdlineFile, $"{name}-cmdline"));
                        break;
                    case OutputFormat.TarKernelInitrd:
                        var tarFile = Path.Combine(scratch, "initrd.tar");
                        WriteTarKernelInitrd(tree, kernelFile!, initrdFile!, cmdline!, tarFile);
                        finished.Add((tarFile, $"{name}-initrd.tar"));
                        break;
                    case OutputFormat.Tar:
                        var fullTar = Path.Combine(scratch, "image.tar");
                        progress?.Report(new BuildProgress(BuildPhase.Write, "tar"));
                        using (var output = new FileStream(fullTar, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                        using (var sink = new TarSink(output))
                        {
                            Emitter.Emit(tree, sink, progress, cancellationToken);
                        }

                        finished.Add((fullTar, $"{name}.tar"));
                        break;
                    case OutputFormat.IsoBios:
                        progress?.Report(new BuildProgress(BuildPhase.Write, "iso-bios"));
                        var bios = Path.Combine(scratch, "bios.iso");
                        IsoBuilder.BuildBios(kernelFile!, initrdFile!, cmdline!, bios, Directory.CreateDirectory(Path.Combine(scratch, "bios")).FullName, cancellationToken);
                        finished.Add((bios, $"{name}.iso"));
                        break;
                    case OutputFormat.IsoEfi:
                        progress?.Report(new BuildProgress(BuildPhase.Write, "iso-efi"));
                        var efi = Path.Combine(scratch, "efi.iso");
                        IsoBuilder.BuildEfi(kernelFile!, initrdFile!, cmdline!, efi, Directory.CreateDirectory(Path.Combine(scratch, "efi")).FullName, cancellationToken);
                        finished.Add((efi, $"{name}-efi.iso"));
                        break;
                }
            }

            var outputs = new List<BuildOutput>();
            foreach (var (temporary, final) in finished)
            {
                var target = Path.Combine(outputDirectory, final);
                if (formats.Contains(OutputFormat.TarKernelInitrd) && (temporary == kernelFile || temporary == initrdFile))
                {
                    File.Copy(temporary, target, overwrite: true);
                }
                else
                {
                    File.Move(temporary, target, overwrite: true);
                }

                outputs.Add(new BuildOutput(target, new FileInfo(target).Length));
            }

            WriteStamp(stampPath, inputDigest, outputs);
            progress?.Report(new BuildProgress(BuildPhase.Done, $"{outputs.Count} output(s) written"));
            return Result(outputs, upToDate: false);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static IEnumerable<string> AllReferences(ImageSpec spec)
    {
        if (!string.IsNullOrEmpty(spec.Kernel.Image))
        {
            yield return spec.Kernel.Image;
        }

        foreach (var image in spec.Init)
        {
            yield return image;
        }

        foreach (var volume in spec.Volumes.Where(v => !string.IsNullOrEmpty(v.Image)))
        {
            yield return volume.Image!;
        }

        foreach (var container in spec.Onboot.Concat(spec.Onshutdown).Concat(spec.Services))
        {
            yield return container.Image;
        }
    }

    /// <summary>
    /// The initrd: the raw microcode cpio first (the early loader only looks at an uncompressed first member),
    /// padded with NULs to a 4-byte boundary, then one gzip member holding the rest, padded the same way (buffer-format.rst).
    /// </summary>
    private static void WriteKernelAndInitrd(FsTree tree, string kernelFile, string initrdFile, InitrdCompression compression,
        IProgress<BuildProgress>? progress, CancellationToken cancellationToken)
    {
        using var kernel = new FileStream(kernelFile, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        using var initrd = new FileStream(initrdFile, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        if (tree.Find("boot/ucode.cpio")?.Content?.Source is InlineContent ucode)
        {
            initrd.Write(ucode.Data);
            var padding = (4 - (ucode.Data.Length & 3)) & 3;
            initrd.Write(new byte[padding]);
        }

        var level = compression switch
        {
            InitrdCompression.Optimal => CompressionLevel.Optimal,
            InitrdCompression.SmallestSize => CompressionLevel.SmallestSize,
            _ => CompressionLevel.Fastest,
        };
        using var gzip = new ParallelGzipStream(initrd, level);
        using var cpio = new CpioWriter(gzip, leaveOpen: true);
        var sink = new InitrdSink(cpio, kernel);
        Emitter.Emit(tree, sink, progress, cancellationToken);
        gzip.Finish();

        // End on a 4-byte boundary too: a boot loader may load a second initrd (a per-machine overlay cpio) right
        // after this one, and the kernel only recognises an uncompressed cpio at an aligned offset; NULs between
        // members are skipped (buffer-format.rst).
        initrd.Write(new byte[(4 - (int)(initrd.Position & 3)) & 3]);
        if (!sink.KernelWritten)
        {
            throw new ImageBuildException("the kernel was not written (internal error)");
        }
    }

    /// <summary>LinuxKit's tar-kernel-initrd: kernel, initrd.img, cmdline and ucode.cpio in one tar.</summary>
    private static void WriteTarKernelInitrd(FsTree tree, string kernelFile, string initrdFile, string cmdline, string output)
    {
        using var stream = new FileStream(output, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        using var writer = new TarWriter(stream, TarEntryFormat.Gnu, leaveOpen: true);
        void Add(string entryName, Stream data)
        {
            var time = DateTimeOffset.FromUnixTimeSeconds(CpioWriter.DefaultModificationTime);
            writer.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, entryName)
            {
                Mode = (UnixFileMode)0x1A4, // 0644
                ModificationTime = time,
                AccessTime = time,
                ChangeTime = time,
                DataStream = data,
            });
        }

        using (var kernel = File.OpenRead(kernelFile))
        {
            Add("kernel", kernel);
        }

        using (var initrd = File.OpenRead(initrdFile))
        {
            Add("initrd.img", initrd);
        }

        using (var text = new MemoryStream(Encoding.UTF8.GetBytes(cmdline)))
        {
            Add("cmdline", text);
        }

        if (tree.Find("boot/ucode.cpio")?.Content?.Source is InlineContent ucode)
        {
            using var data = new MemoryStream(ucode.Data);
            Add("ucode.cpio", data);
        }
    }

    private static string InputDigest(BuildRequest request, List<(string Path, string Text)> texts, ImageSpec spec,
        Dictionary<string, ResolvedImage> images, List<OutputFormat> formats, string name, string workingDirectory)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }

        Add(BuilderVersion);
        Add(name);
        Add(request.Platform);
        Add(request.Compression.ToString());
        foreach (var format in formats)
        {
            Add(OutputFormats.Name(format));
        }

        foreach (var (_, text) in texts)
        {
            Add(text);
        }

        foreach (var (reference, image) in images.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Add(reference);
            Add(image.ManifestDigest);
        }

        foreach (var file in spec.Files.Where(f => f.Source is not null))
        {
            var source = file.Source!.StartsWith("~/", StringComparison.Ordinal)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), file.Source[2..])
                : Path.GetFullPath(file.Source, workingDirectory);
            Add(source);
            if (File.Exists(source))
            {
                using var stream = File.OpenRead(source);
                Add(Convert.ToHexString(SHA256.HashData(stream)));
            }
            else
            {
                Add("missing");
            }
        }

        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static List<BuildOutput>? ReadStamp(string path, string inputDigest)
    {
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            var stamp = JsonSerializer.Deserialize(File.ReadAllBytes(path), StampJsonContext.Default.BuildStamp);
            if (stamp is null || stamp.InputDigest != inputDigest)
            {
                return null;
            }

            var outputs = new List<BuildOutput>();
            foreach (var output in stamp.Outputs)
            {
                var info = new FileInfo(output.Path);
                if (!info.Exists || info.Length != output.Size || info.LastWriteTimeUtc.Ticks != output.ModifiedTicks)
                {
                    return null;
                }

                outputs.Add(new BuildOutput(output.Path, output.Size));
            }

            return outputs;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void WriteStamp(string path, string inputDigest, List<BuildOutput> outputs)
    {
        var stamp = new BuildStamp
        {
            InputDigest = inputDigest,
            Outputs = outputs.Select(o => new StampOutput { Path = o.Path, Size = o.Size, ModifiedTicks = File.GetLastWriteTimeUtc(o.Path).Ticks }).ToList(),
        };
        File.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(stamp, StampJsonContext.Default.BuildStamp));
    }
}

/// <summary>Written next to the outputs: the inputs' digest and what was produced, to skip an identical rebuild.</summary>
internal sealed class BuildStamp
{
    [JsonPropertyName("inputDigest")] public string InputDigest { get; set; } = "";
    [JsonPropertyName("outputs")] public List<StampOutput> Outputs { get; set; } = [];
}

internal sealed class StampOutput
{
    [JsonPropertyName("path")] public string Path { get; set; } = "";
    [JsonPropertyName("size")] public long Size { get; set; }
    [JsonPropertyName("modifiedTicks")] public long ModifiedTicks { get; set; }
}

[JsonSerializable(typeof(BuildStamp))]
[JsonSourceGenerationOptions(WriteIndented = true)]
internal sealed partial class StampJsonContext : JsonSerializerContext;
