using Underlay.Images.Tests.Support;

namespace Underlay.Images.Tests;

public sealed class RegistryTests(TestImages images, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private static int BlobGets(string log) => log.Split('\n').Count(l => l.Contains("GET /v2/", StringComparison.Ordinal) && l.Contains("/blobs/", StringComparison.Ordinal));

    private string Spec(string tag) => $"""
        kernel:
          image: {registry.Host}/test/kernel:{tag}
          cmdline: console=ttyS0
        init:
          - {registry.Host}/test/init:{tag}
        services:
          - name: svc
            image: {registry.Host}/test/svc:{tag}
        """;

    private async Task PushAllAsync(string tag)
    {
        foreach (var name in new[] { "kernel", "init", "svc" })
        {
            await registry.PushAsync(images.Layout, name, $"test/{name}:{tag}");
        }
    }

    [Fact]
    public async Task Images_are_pulled_over_tls_with_basic_auth_and_a_second_build_pulls_nothing()
    {
        await PushAllAsync("v1");
        using var directory = new TempDirectory("pull");
        var cache = directory.Combine("shared-cache");
        var first = await Builds.BuildAsync(directory, Spec("v1"), [OutputFormat.KernelInitrd], useOutputCache: false, cache, registry.Options());
        Assert.True(first.BlobsPulled >= 6, $"pulled {first.BlobsPulled} blobs");
        Assert.True(first.BlobRequests > 0);
        Assert.True(first.BytesPulled > 1_000_000);

        // The output equals a build from the local layout: same images, same bytes.
        using var local = new TempDirectory("local");
        var fromLayout = await Builds.BuildAsync(local, Spec("v1")
            .Replace($"{registry.Host}/test/kernel:v1", images.Ref("kernel"), StringComparison.Ordinal)
            .Replace($"{registry.Host}/test/init:v1", images.Ref("init"), StringComparison.Ordinal)
            .Replace($"{registry.Host}/test/svc:v1", images.Ref("svc"), StringComparison.Ordinal), OutputFormat.KernelInitrd);
        Assert.Equal(File.ReadAllBytes(fromLayout.Outputs[1].Path), File.ReadAllBytes(first.Outputs[1].Path));

        var blobGetsBefore = BlobGets(registry.Log);
        var secondDirectory = new TempDirectory("pull2");
        using (secondDirectory)
        {
            var second = await Builds.BuildAsync(secondDirectory, Spec("v1"), [OutputFormat.KernelInitrd], useOutputCache: false, cache, registry.Options());
            Assert.Equal(0, second.ManifestRequests);
            Assert.Equal(0, second.BlobRequests);
            Assert.Equal(0, second.BlobsPulled);
        }

        // Also from the registry's own access log: no blob was fetched by the second build.
        await Task.Delay(200, TestContext.Current.CancellationToken);
        Assert.Equal(blobGetsBefore, BlobGets(registry.Log));

        // The cache is itself an OCI layout that names what it holds.
        var index = await File.ReadAllTextAsync(Path.Combine(cache, "index.json"), TestContext.Current.CancellationToken);
        Assert.Contains($"{registry.Host}/test/kernel:v1", index);
        Assert.True(File.Exists(Path.Combine(cache, "oci-layout")));
    }

    [Fact]
    public async Task Pulling_without_credentials_says_how_to_give_them()
    {
        await registry.PushAsync(images.Layout, "svc", "test/svc:noauth");
        using var directory = new TempDirectory("noauth");
        var spec = $"services:\n  - name: svc\n    image: {registry.Host}/test/svc:noauth\n";
        var error = await Assert.ThrowsAsync<ImageBuildException>(() =>
            Builds.BuildAsync(directory, spec, [OutputFormat.Tar], useOutputCache: false, null, registry.Options(withCredentials: false)));
        Assert.Contains("requires authentication", error.Message);
        Assert.Contains("--registry-auth", error.Message);
    }

    [Fact]
    public async Task An_untrusted_certificate_is_refused()
    {
        await registry.PushAsync(images.Layout, "svc", "test/svc:tls");
        using var directory = new TempDirectory("tls");
        var options = new RegistryOptions { RequestTimeout = TimeSpan.FromSeconds(30) };
        options.Credentials[registry.Host] = new RegistryCredential(RegistryFixture.User, RegistryFixture.Password);
        var spec = $"services:\n  - name: svc\n    image: {registry.Host}/test/svc:tls\n";
        var error = await Assert.ThrowsAsync<ImageBuildException>(() =>
            Builds.BuildAsync(directory, spec, [OutputFormat.Tar], useOutputCache: false, null, options));
        Assert.Contains("cannot reach registry", error.Message);
    }

    [Fact]
    public async Task A_blob_served_with_wrong_content_is_refused_and_not_cached()
    {
        await registry.PushAsync(images.Layout, "init", "test/corrupt:v1");
        // Rewrite the init image's layer in the registry's storage: same length, different bytes.
        var index = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(images.Layout, "index.json"), TestContext.Current.CancellationToken))!;
        var manifestDigest = index["manifests"]!.AsArray().Single(m => m!["annotations"]!["org.opencontainers.image.ref.name"]!.GetValue<string>() == "init")!["digest"]!.GetValue<string>();
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(images.Layout, "blobs", "sha256", manifestDigest[7..]), TestContext.Current.CancellationToken))!;
        var layerHex = manifest["layers"]![0]!["digest"]!.GetValue<string>()[7..];
        var blob = Path.Combine(registry.StorageDirectory, "docker", "registry", "v2", "blobs", "sha256", layerHex[..2], layerHex, "data");
        var original = File.ReadAllBytes(blob);
        var tampered = (byte[])original.Clone();
        tampered[tampered.Length / 2] ^= 0x55;
        File.WriteAllBytes(blob, tampered);
        try
        {
            using var directory = new TempDirectory("corrupt");
            var spec = $"services:\n  - name: c\n    image: {registry.Host}/test/corrupt:v1\n";
            var error = await Assert.ThrowsAsync<ImageBuildException>(() =>
                Builds.BuildAsync(directory, spec, [OutputFormat.Tar], useOutputCache: false, null, registry.Options()));
            Assert.Contains("digest mismatch", error.Message);
            Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(directory.Combine("cache"), "blobs", "sha256")),
                f => new FileInfo(f).Length == original.Length);
        }
        finally
        {
            File.WriteAllBytes(blob, original);
        }
    }
}
