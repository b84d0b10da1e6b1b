namespace Underlay.Images.Tests.Support;

/// <summary>Helpers to write a spec file and run the builder in a scratch directory.</summary>
public static class Builds
{
    public static string BootSpec(TestImages images, string extra = "") => $$"""
        kernel:
          image: {{images.Ref("kernel")}}
          cmdline: "console=ttyS0 panic=-1"
          ucode: intel-ucode.cpio
        init:
          - {{images.Ref("init")}}
        onboot:
          - name: hello
            image: {{images.Ref("svc")}}
            command: ["/bin/svc", "--once"]
        services:
          - name: svc
            image: {{images.Ref("svc")}}
            capabilities.add: [CAP_SYS_TIME]
        files:
          - path: etc/underlay-marker
            contents: "UNDERLAY-FILES-OK"
            mode: "0644"
        {{extra}}
        """;

    public static async Task<BuildResult> BuildAsync(TempDirectory directory, string spec, params OutputFormat[] formats) =>
        await BuildAsync(directory, spec, formats, useOutputCache: false);

    public static async Task<BuildResult> BuildAsync(TempDirectory directory, string spec, OutputFormat[] formats, bool useOutputCache,
        string? cache = null, RegistryOptions? registry = null, string name = "test")
    {
        var specFile = directory.Combine(name + ".yml");
        await File.WriteAllTextAsync(specFile, spec, TestContext.Current.CancellationToken);
        return await ImageBuilder.BuildAsync(new BuildRequest
        {
            SpecFiles = [specFile],
            Formats = formats.Length == 0 ? [OutputFormat.KernelInitrd] : formats,
            OutputDirectory = directory.Combine("out"),
            CacheDirectory = cache ?? directory.Combine("cache"),
            Name = name,
            UseOutputCache = useOutputCache,
            Registry = registry ?? new RegistryOptions(),
        }, TestContext.Current.CancellationToken);
    }
}
