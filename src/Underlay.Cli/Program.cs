Console.WriteLine("underlay");
