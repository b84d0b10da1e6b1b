using Underlay.Images.Layers;
using Underlay.Images.Sources;
using Underlay.Images.Tests.Support;
using Underlay.TestUtilities;

namespace Underlay.Images.Tests;

/// <summary>Our flattening must match an independent implementation of OCI layer.md: Debian's umoci.</summary>
public sealed class FlattenOracleTests(TestImages images)
{
    internal static async Task<Assembly.FsTree> FlattenAsync(string reference, string cacheDirectory)
    {
        using var resolver = new ImageResolver(new ImageCache(cacheDirectory), new RegistryOptions(), "linux/amd64", false, null, Environment.CurrentDirectory);
        var image = await resolver.ResolveAsync(reference, TestContext.Current.CancellationToken);
        var layers = image.Layers.Select(l => LayerScanner.Scan(l, ScanRequest.HeadersOnly)).ToList();
        return Flattener.Flatten(layers, reference);
    }

    [Fact]
    public async Task Flattened_rootfs_matches_umoci_unpack_rootless()
    {
        TestEnvironment.RequireTool("umoci", "umoci");
        using var directory = new TempDirectory("oracle");
        var ours = TreeSnapshot.FromTree(await FlattenAsync(images.Ref("base"), directory.Combine("cache")));

        var bundle = directory.Combine("bundle");
        var run = await ExternalProcess.RunAsync("umoci", ["unpack", "--rootless", "--image", images.Layout + ":base", bundle],
            TimeSpan.FromMinutes(2), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(run.ExitCode == 0, run.Combined);
        var theirs = TreeSnapshot.FromDirectory(Path.Combine(bundle, "rootfs"));

        var differences = ours.Keys.Union(theirs.Keys).Order(StringComparer.Ordinal)
            .Where(k => ours.GetValueOrDefault(k) != theirs.GetValueOrDefault(k))
            .Select(k => $"{k}\n  underlay: {ours.GetValueOrDefault(k) ?? "(missing)"}\n  umoci:    {theirs.GetValueOrDefault(k) ?? "(missing)"}")
            .ToList();
        Assert.True(differences.Count == 0, string.Join('\n', differences));

        // The cases the image was built to exercise really are in it.
        Assert.DoesNotContain("etc/old.conf", ours.Keys);
        Assert.DoesNotContain("opt/data/a", ours.Keys);
        Assert.Contains("opt/data/c", ours.Keys);
        Assert.DoesNotContain("var", ours.Keys);
        Assert.StartsWith("dir", ours["etc/motd"], StringComparison.Ordinal);
        Assert.StartsWith("file", ours["etc/conf.d"], StringComparison.Ordinal);
        Assert.Contains(TestImages.LongName, ours.Keys);
        Assert.Equal(ours["bin/busybox"], ours["srv/busybox-from-lower"]);
    }
}
