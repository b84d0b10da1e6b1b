using System.Formats.Tar;
using Underlay.Images.Tests.Support;

namespace Underlay.Images.Tests;

/// <summary>Bad specs and hostile images fail with a clear message and write nothing outside the output directory.</summary>
public sealed class HostileInputTests(TestImages images)
{
    private static async Task<ImageBuildException> BuildFailsAsync(TempDirectory directory, string spec)
    {
        var error = await Assert.ThrowsAsync<ImageBuildException>(() => Builds.BuildAsync(directory, spec, OutputFormat.KernelInitrd, OutputFormat.Tar));
        AssertNothingLeftBehind(directory);
        return error;
    }

    /// <summary>A failed build leaves no outputs and no scratch files, and touched nothing but its directories.</summary>
    private static void AssertNothingLeftBehind(TempDirectory directory)
    {
        var output = directory.Combine("out");
        if (Directory.Exists(output))
        {
            Assert.Empty(Directory.EnumerateFileSystemEntries(output));
        }

        Assert.False(File.Exists("/tmp/underlay-escaped"), "a layer entry was written outside the output directory");
    }

    private string HostileLayout(TempDirectory directory, LayerBuilder layer, Func<byte[], byte[]>? tamper = null)
    {
        var writer = new OciLayoutWriter(directory.Combine("hostile"));
        writer.Add("bad", new TestImage().Layer(new LayerBuilder().Dir("etc").File("etc/ok", "ok\n")).Layer(layer), tamper);
        return $"oci:{writer.Root}:bad";
    }

    private string SpecWith(string init) => $"kernel:\n  image: {images.Ref("kernel")}\n  tar: none\ninit:\n  - {init}\n";

    [Fact]
    public async Task Unknown_keys_are_rejected_with_line_and_column()
    {
        using var directory = new TempDirectory("yaml");
        var error = await BuildFailsAsync(directory, $"kernel:\n  image: {images.Ref("kernel")}\nservices:\n  - name: a\n    image: {images.Ref("svc")}\n    capabilites: [CAP_SYS_ADMIN]\n");
        Assert.Contains("test.yml:6:5", error.Message);
        Assert.Contains("unknown key 'capabilites'", error.Message);
    }

    [Fact]
    public async Task A_layer_entry_climbing_out_of_the_root_is_refused_and_the_layer_named()
    {
        using var directory = new TempDirectory("dotdot");
        var reference = HostileLayout(directory, new LayerBuilder().File("../../../../tmp/underlay-escaped", "root::0:0::/:/bin/sh\n"));
        var error = await BuildFailsAsync(directory, SpecWith(reference));
        Assert.Contains("layer 2", error.Message);
        Assert.Contains("'..'", error.Message);
    }

    [Fact]
    public async Task An_absolute_entry_name_is_refused()
    {
        using var directory = new TempDirectory("absolute");
        var reference = HostileLayout(directory, new LayerBuilder().File("/tmp/underlay-escaped", "x\n"));
        var error = await BuildFailsAsync(directory, SpecWith(reference));
        Assert.Contains("absolute path", error.Message);
        Assert.Contains("layer 2", error.Message);
    }

    [Fact]
    public async Task Writing_through_a_symlink_that_leaves_the_root_is_refused()
    {
        using var directory = new TempDirectory("symlink");
        var reference = HostileLayout(directory, new LayerBuilder().Symlink("escape", "../../../../tmp").File("escape/underlay-escaped", "x\n"));
        var error = await BuildFailsAsync(directory, SpecWith(reference));
        Assert.Contains("escape", error.Message);
        Assert.Contains("layer 2", error.Message);
    }

    [Fact]
    public async Task Writing_beneath_an_absolute_symlink_is_refused()
    {
        using var directory = new TempDirectory("symlink2");
        var reference = HostileLayout(directory, new LayerBuilder().Symlink("etc2", "/etc").File("etc2/passwd", "x\n"));
        var error = await BuildFailsAsync(directory, SpecWith(reference));
        Assert.Contains("beneath 'etc2', which is a symlink", error.Message);
    }

    [Fact]
    public async Task A_hard_link_to_a_path_outside_the_root_is_refused()
    {
        using var directory = new TempDirectory("hardlink");
        var reference = HostileLayout(directory, new LayerBuilder().HardLink("passwd", "../../etc/passwd"));
        var error = await BuildFailsAsync(directory, SpecWith(reference));
        Assert.Contains("hard link", error.Message);
    }

    [Fact]
    public async Task A_truncated_gzip_layer_is_detected_even_when_its_digest_matches()
    {
        using var directory = new TempDirectory("truncated");
        var big = new byte[256 * 1024];
        new Random(7).NextBytes(big);
        var reference = HostileLayout(directory, new LayerBuilder().File("blob.bin", big), blob => blob[..(blob.Length * 2 / 3)]);
        var error = await BuildFailsAsync(directory, SpecWith(reference));
        Assert.True(error.Message.Contains("layer 2", StringComparison.Ordinal) && error.Message.Contains("truncated", StringComparison.Ordinal), error.Message);
    }

    [Fact]
    public async Task A_layer_whose_bytes_do_not_match_its_digest_is_refused()
    {
        using var directory = new TempDirectory("digest");
        var writer = new OciLayoutWriter(directory.Combine("hostile"));
        writer.Add("bad", new TestImage().Layer(new LayerBuilder().File("a", "original\n")));
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(writer.BlobPath(
            System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(writer.Root, "index.json")))!["manifests"]![0]!["digest"]!.GetValue<string>())))!;
        var layerPath = writer.BlobPath(manifest["layers"]![0]!["digest"]!.GetValue<string>());
        var bytes = File.ReadAllBytes(layerPath);
        bytes[^20] ^= 0xFF;
        File.WriteAllBytes(layerPath, bytes);
        var error = await BuildFailsAsync(directory, SpecWith($"oci:{writer.Root}:bad"));
        Assert.True(error.Message.Contains("digest mismatch", StringComparison.Ordinal), error.Message);
    }
}
