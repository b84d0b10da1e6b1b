using System.Text;

namespace Underlay.Templates.Tests.DrpContent;

public sealed class DrpContentTests
{
    [Fact]
    public void Every_template_text_in_the_community_packs_parses()
    {
        var all = DrpContentPacks.All;
        var packs = all.Select(t => t.Pack).Distinct().Count();

        // The census counted 1135 texts in 36 packs; far fewer means the walk above missed a shape.
        Assert.True(all.Count >= 1100, $"found only {all.Count} template texts");
        Assert.True(packs >= 30, $"found templates in only {packs} packs");

        var failures = new StringBuilder();
        var count = 0;
        foreach (var t in all)
        {
            try
            {
                TemplateEngine.Shared.ParseUncached(t.Where, t.Text);
            }
            catch (TemplateException ex)
            {
                count++;
                failures.AppendLine($"{t}: {ex.Message}");
            }
        }

        Assert.True(count == 0, $"{count} of {all.Count} texts failed to parse:\n{failures}");
    }

    [Fact]
    public void Every_function_the_content_calls_is_known()
    {
        // Parsing checks this too; this names the functions, which makes a regression easy to read.
        var known = TemplateEngine.Shared;
        foreach (var name in new[] { "eq", "get", "hasKey", "not", "index", "set", "printf", "and", "ne", "join", "slice", "add", "replace", "toString", "trim", "toJson", "int", "len", "concat", "first", "cat", "hasPrefix", "or", "split", "contains", "empty", "has", "list", "lower", "regexFind", "regexMatch", "toPrettyJson", "trimSuffix", "uniq", "append", "coalesce", "le", "lt", "squote", "add1", "deepEqual", "dict", "float64", "ge", "mul", "trimPrefix", "values" })
        {
            Assert.True(known.HasFunction(name), name);
        }

        Assert.False(known.HasFunction("env"));
        Assert.False(known.HasFunction("expandenv"));
    }
}

public sealed class DrpContentRenderTests(ITestOutputHelper output)
{
    [Fact]
    public void Community_content_renders_against_a_stub_machine()
    {
        var engine = TemplateEngine.Shared;
        var byId = new Dictionary<string, ParsedTemplate>(StringComparer.Ordinal);
        foreach (var t in DrpContentPacks.All.Where(t => t.Kind == "template"))
        {
            var id = t.Where["templates/".Length..^".Contents".Length];
            byId.TryAdd(id, engine.Parse(id, t.Text));
        }

        Func<string, ParsedTemplate?> resolve = id => byId.GetValueOrDefault(id);
        var data = new DrpRenderStub(DrpRenderStub.ParamDefaults(), resolve);
        var options = RenderOptions.Default with { ResolveTemplate = resolve };
        var ok = 0;
        var failures = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var t in DrpContentPacks.All)
        {
            try
            {
                engine.RenderToString(engine.Parse(t.Where, t.Text), data, options);
                ok++;
            }
            catch (TemplateException ex)
            {
                // Group by the error after the location, so one missing stub value shows as one line.
                var reason = ex.Message[(ex.Message.LastIndexOf(">: ", StringComparison.Ordinal) + 1)..];
                if (!failures.TryGetValue(reason, out var list))
                {
                    failures[reason] = list = [];
                }

                list.Add(t.ToString());
            }
        }

        output.WriteLine($"{ok} of {DrpContentPacks.All.Count} texts rendered");
        foreach (var (reason, list) in failures.OrderByDescending(f => f.Value.Count))
        {
            output.WriteLine($"{list.Count,4} {reason}  e.g. {list[0]}");
        }

        // The stub answers only with schema defaults, so some renders legitimately fail (a required param
        // without a default, indexing an empty list...). Nearly all must succeed, and none may fail any other way.
        Assert.True(ok >= DrpContentPacks.All.Count * 0.97, $"only {ok} of {DrpContentPacks.All.Count} rendered");
    }
}
