using Microsoft.Extensions.Logging.Abstractions;
using Underlay.Boot;
using Underlay.Boot.Files;
using Underlay.Boot.Rendering;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Registry;
using Underlay.Core.Validation;
using Underlay.Store;
using Underlay.Store.Content;
using Underlay.Store.Events;
using Underlay.Store.Persistence;
using Underlay.TestUtilities;

namespace Underlay.Boot.Tests.Support;

/// <summary>
/// An in-memory store with the built-in content packs and Boot wired as underlayd wires it (rules, hook, renderer,
/// virtual file system), over a temporary file root. Tokens come from a recording issuer.
/// </summary>
internal sealed class BootHarness : IAsyncDisposable
{
    private BootHarness(ObjectStore store, BootServices boot, string directory, List<RenderTokenRequest> tokens)
    {
        Store = store;
        Boot = boot;
        Directory = directory;
        Tokens = tokens;
    }

    public ObjectStore Store { get; }

    public BootServices Boot { get; }

    public string Directory { get; }

    public List<RenderTokenRequest> Tokens { get; }

    public TemplateRenderer Renderer => Boot.Renderer;

    public BootFileSystem Files => Boot.Files;

    public string FileRoot => Boot.Root.Path;

    public static readonly System.Net.IPAddress ServerAddress = System.Net.IPAddress.Parse("10.9.0.1");

    /// <param name="builtInContent">Load the repository's built-in packs, as underlayd does.</param>
    /// <param name="makeRoomFor">Leave out built-in objects this pack also defines, so it can be uploaded next.</param>
    public static async Task<BootHarness> StartAsync(bool builtInContent = true, ContentPack? makeRoomFor = null, CancellationToken cancellationToken = default)
    {
        var directory = RepoPaths.NewTempDirectory("boot");
        var store = new ObjectStore(new MemoryPersistence(), new ModelValidator(new ParamSchemas()), new EventBus(), TimeProvider.System, NullLogger<ObjectStore>.Instance);
        var tokens = new List<RenderTokenRequest>();
        var boot = BootServices.Create(store, new BootOptions { FileRoot = Path.Combine(directory, "tftpboot"), StaticIp = ServerAddress }, request =>
        {
            lock (tokens)
            {
                tokens.Add(request);
            }

            return $"token-{request.Kind}-{request.Machine?.Name ?? "unknown"}-{(int)request.Lifetime.TotalSeconds}{(request.Profile is { } p ? "-" + p : "")}";
        }, NullLoggerFactory.Instance);
        var packs = builtInContent ? ContentDirectory.LoadAll(Path.Combine(RepoPaths.Root, "content")) : [];
        foreach (var pack in makeRoomFor is null ? [] : packs)
        {
            foreach (var (prefix, section) in pack.Sections)
            {
                if (makeRoomFor!.Sections.TryGetValue(prefix, out var other))
                {
                    foreach (var key in section.Keys.Where(other.ContainsKey).ToList())
                    {
                        section.Remove(key);
                    }
                }
            }
        }

        await store.OpenAsync(packs, cancellationToken);
        await store.CreateAsync(new Profile { Name = ParamResolver.GlobalProfile }, "test", cancellationToken);
        foreach (var (name, value) in new[] { ("defaultBootEnv", "local"), ("unknownBootEnv", "ignore"), ("knownTokenTimeout", "3600"), ("unknownTokenTimeout", "600") })
        {
            await store.CreateAsync(new Pref { Name = name, Val = value }, "test", cancellationToken);
        }

        await boot.StartAsync(cancellationToken);
        return new BootHarness(store, boot, directory, tokens);
    }

    /// <summary>Writes an object and fails the test with the store's messages if the write fails.</summary>
    public async Task<T> CreateAsync<T>(T model)
        where T : ModelBase
    {
        var result = await Store.CreateAsync(model, "test");
        Assert.True(result.IsSuccess, result.ToString());
        return (T)result.Object!;
    }

    public async Task<T> UpdateAsync<T>(string key, Action<T> change)
        where T : ModelBase
    {
        var result = await Store.UpdateAsync(ModelTypes.Of<T>(), key, (copy, _) =>
        {
            change((T)copy);
            return null;
        }, null, "test");
        Assert.True(result.IsSuccess, result.ToString());
        return (T)result.Object!;
    }

    public T Get<T>(string key)
        where T : ModelBase => (T)Store.Get(ModelTypes.Of<T>(), key)!;

    public async Task SetParamAsync<T>(string key, string name, string json)
        where T : ModelBase
    {
        var value = System.Text.Json.JsonDocument.Parse(json).RootElement.Clone();
        await UpdateAsync<T>(key, model => ((IParamHolder)model).Params[name] = value);
    }

    /// <summary>Writes a file into the file root (parents created).</summary>
    public string WriteFile(string relative, string contents)
    {
        var path = Path.Combine(FileRoot, relative);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, contents);
        return path;
    }

    public BootFile Open(string path, string? remote = "10.9.0.50") =>
        Files.Open(path, new BootFileRequest("http", remote is null ? null : System.Net.IPAddress.Parse(remote), ServerAddress));

    public string OpenText(string path)
    {
        var file = Open(path);
        Assert.True(file.Kind == BootFileKind.Rendered || file.Kind == BootFileKind.Physical, $"{path}: {file.Kind} {file.Message}");
        return file.Kind == BootFileKind.Rendered ? System.Text.Encoding.UTF8.GetString(file.Content!) : File.ReadAllText(file.FullPath!);
    }

    public async ValueTask DisposeAsync()
    {
        Boot.Dispose();
        await Store.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
