def test_demo_project_has_three_videos(demo_project):
    vids = demo_project.videos()
    assert [v.name for v in vids] == ["demo_anime.mp4", "demo_live.mp4", "demo_transitions.mp4"]
    assert all(v.frame_count > 200 for v in vids)
