namespace Underlay.Images.Spec;

/// <summary>
/// Merges several spec files the way LinuxKit's AppendConfig does: a later file's kernel fields replace earlier
/// ones when set, every list is concatenated in file order, and service names must stay unique (they run side
/// by side under containerd). Volume names must stay unique as well.
/// </summary>
internal static class SpecMerger
{
    public static ImageSpec Merge(IReadOnlyList<ImageSpec> specs)
    {
        var merged = new ImageSpec();
        foreach (var spec in specs)
        {
            if (!string.IsNullOrEmpty(spec.Kernel.Image))
            {
                merged.Kernel.Image = spec.Kernel.Image;
            }

            if (!string.IsNullOrEmpty(spec.Kernel.Cmdline))
            {
                merged.Kernel.Cmdline = spec.Kernel.Cmdline;
            }

            if (!string.IsNullOrEmpty(spec.Kernel.Binary))
            {
                merged.Kernel.Binary = spec.Kernel.Binary;
            }

            if (spec.Kernel.Tar is not null)
            {
                merged.Kernel.Tar = spec.Kernel.Tar;
            }

            if (spec.Kernel.UCode is not null)
            {
                merged.Kernel.UCode = spec.Kernel.UCode;
            }

            merged.Init.AddRange(spec.Init);
            merged.Onboot.AddRange(spec.Onboot);
            merged.Onshutdown.AddRange(spec.Onshutdown);
            merged.Services.AddRange(spec.Services);
            merged.Files.AddRange(spec.Files);
            merged.Volumes.AddRange(spec.Volumes);
            merged.Warnings.AddRange(spec.Warnings);
        }

        SpecParser.CheckUniqueNames(merged.Services, "service");
        var volumes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var volume in merged.Volumes)
        {
            if (!volumes.Add(volume.Name))
            {
                throw new ImageBuildException($"{volume.Location}: duplicate volume name '{volume.Name}'");
            }
        }

        return merged;
    }
}
